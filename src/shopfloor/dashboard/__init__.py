"""The dashboard: a local web application over one repository's floor (``shopfloor dashboard``).

It sits beside ``cli`` at the top of the layers: ``data`` reads through the packages' own
functions (never SQL on their tables), ``viewmodels`` and ``charts`` are pure (rows in, plain
dicts and SVG out), ``app`` holds the routes, ``live`` the server-sent events, ``security`` the
token and CSRF checks. Its dependencies (Starlette, uvicorn, Jinja2) are the ``dashboard`` extra.
"""
