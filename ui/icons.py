"""The browser tab's icon, which must come from no server but this one.

Streamlit turns a ``:material/…:`` page icon into a favicon fetched from Google's font server
(fonts.gstatic.com), which a talk venue without internet cannot reach; an emoji becomes an inline SVG.
The navigation's own ``:material/…:`` icons are drawn with the Material Symbols font that Streamlit
ships, so they need no favicon and no outside server. Cheap to import: ``app.py`` sets the favicon
before anything else, so that the navigation's first message never asks for a page's icon.
"""

FAVICON = "🎲"  # a draw from the posterior
