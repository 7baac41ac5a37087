"""Cache lifetimes a CDN in front of the published site can use.

* The stylesheet is linked with its content hash (``/static/site.css?h=<sha>``), so its
  URL changes whenever it does, and it is served as immutable for a year.
* With every database immutable (``timeline serve --production`` and published images),
  pages and feeds change only on a redeploy: they may be cached for five minutes and
  served stale for a day while revalidating. The development server sets no lifetimes.
"""

from datasette import hookimpl

from timeline.site import static_url

STYLESHEET = "site.css"
YEAR = "public, max-age=31536000, immutable"
PAGES = "public, max-age=300, stale-while-revalidate=86400"


def stylesheet_url(datasette) -> str:
    return static_url(datasette.urls, STYLESHEET)


@hookimpl
def extra_css_urls(datasette):
    return [stylesheet_url(datasette)]


@hookimpl
def prepare_jinja2_environment(env, datasette):
    # Error pages are rendered without extra_css_urls; base.html links the stylesheet with this.
    env.globals["site_stylesheet_url"] = lambda: stylesheet_url(datasette)


def lifetime(datasette, scope) -> str | None:
    path = scope.get("path", "")
    if path.startswith(("/static/", "/-/static/", "/-/static-plugins/")):
        return YEAR if b"h=" in scope.get("query_string", b"") or "/-/static" in path else None
    immutable = all(not db.is_mutable for db in datasette.databases.values() if not db.is_memory)
    return PAGES if immutable else None


@hookimpl
def asgi_wrapper(datasette):
    def wrap(app):
        async def cached(scope, receive, send):
            if scope["type"] != "http" or scope.get("method") != "GET":
                return await app(scope, receive, send)
            value = lifetime(datasette, scope)

            async def send_cached(message):
                if value and message["type"] == "http.response.start" and message["status"] == 200:
                    headers = [(k, v) for k, v in message.get("headers", [])
                               if k.lower() != b"cache-control"]  # fmt: skip
                    message = message | {"headers": [*headers, (b"cache-control", value.encode())]}
                await send(message)

            await app(scope, receive, send_cached)

        return cached

    return wrap
