// Starts Swagger UI on /openapi.json. Kept out of the page so the page needs no inline
// script under the Content-Security-Policy; the validator is off (it calls another host).
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
  deepLinking: true,
  validatorUrl: null,
});
