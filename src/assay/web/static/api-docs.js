// Start Swagger UI on the API's own OpenAPI document (the page may run no inline script).
const root = document.getElementById("swagger-ui");
window.ui = window.SwaggerUIBundle({
  url: root.dataset.spec,
  dom_id: "#swagger-ui",
  deepLinking: true,
  // The server answers "Try it out" requests itself; nothing is fetched from elsewhere.
  validatorUrl: null,
  persistAuthorization: false,
});
