"""One module per page: a skeleton ``layout``, ``render_page(ctx)``, the page's tables and
``update``, its callback; ``register(app)`` calls ``dash.register_page`` and wires ``update``."""
