// Drawing 28×28 maps on canvases: a diverging red–white–blue scale (matplotlib's RdBu_r, as in
// weights.png) for weights and contributions, grey for images.

const RDBU = [ // RdBu_r from -1 (blue) to +1 (red), 11 stops
  [5, 48, 97], [33, 102, 172], [67, 147, 195], [146, 197, 222], [209, 229, 240], [247, 247, 247],
  [253, 219, 199], [244, 165, 130], [214, 96, 77], [178, 24, 43], [103, 0, 31],
];

export function diverging(value) { // value in [-1, 1]
  const x = (Math.max(-1, Math.min(1, value)) + 1) / 2 * (RDBU.length - 1);
  const i = Math.min(Math.floor(x), RDBU.length - 2);
  const f = x - i;
  return RDBU[i].map((c, k) => Math.round(c + f * (RDBU[i + 1][k] - c)));
}

export function maxAbs(rows) {
  let m = 0;
  for (const row of rows) for (const v of row) m = Math.max(m, Math.abs(v));
  return m || 1;
}

export function drawMap(canvas, rows, limit = maxAbs(rows)) {
  draw(canvas, rows, (v) => diverging(v / limit));
}

export function drawGrey(canvas, rows) { // 0..255
  draw(canvas, rows, (v) => [v, v, v]);
}

function draw(canvas, rows, color) {
  const height = rows.length;
  const width = rows[0].length;
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext("2d");
  const image = context.createImageData(width, height);
  rows.forEach((row, y) => row.forEach((v, x) => {
    const [r, g, b] = color(v);
    image.data.set([r, g, b, 255], 4 * (y * width + x));
  }));
  context.putImageData(image, 0, 0);
}

// A colour run's (C=3) map as a picture: each channel's value around mid-grey (0 at 128), so that a
// template's colours show which colours raise the class's score.
export function drawRGB(canvas, channels, limit = maxAbs(channels.flat())) {
  const [r, g, b] = channels;
  const rows = r.map((row, y) => row.map((_, x) => [r[y][x], g[y][x], b[y][x]]));
  draw(canvas, rows, (v) => v.map((c) => Math.round(128 + 127 * Math.max(-1, Math.min(1, c / limit)))));
}

// An input image (C, H, W) of 0..255 values, grey or colour.
export function drawImage(canvas, channels) {
  if (channels.length !== 3) { drawGrey(canvas, channels[0]); return; }
  const [r, g, b] = channels;
  draw(canvas, r.map((row, y) => row.map((_, x) => [r[y][x], g[y][x], b[y][x]])), (v) => v);
}

// (H, W) stays (H, W); (C, H, W) gives its channels; a (1, H, W) map is (H, W).
export function channelsOf(map) {
  return Array.isArray(map[0][0]) ? map : [map];
}
