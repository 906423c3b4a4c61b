"""User text (run and dataset names, tags, file names, messages that quote them) shown as text.

Streamlit renders the bodies of st.markdown, st.caption, st.error and friends as Markdown (links,
emphasis, ``:red[...]`` colours, ``$...$`` maths); a name such as ``[click](http://...)`` must not turn
into a link. :func:`plain` escapes every character Markdown gives a meaning to.
"""
from __future__ import annotations

import re

_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&=])")


def plain(text) -> str:
    """`text` with Markdown's special characters escaped, so it reads exactly as typed."""
    return _MARKDOWN.sub(r"\\\1", str(text))
