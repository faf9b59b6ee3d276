"""One module per page: ``register_page``, a skeleton ``layout``, ``render(ctx)`` and the
page's tables; ``update`` is its callback, wired by ``register_callbacks``."""
