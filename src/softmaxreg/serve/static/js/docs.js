// Swagger UI from the package's own copy (no CDN), started from a file: the CSP forbids inline script.
window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui" });
