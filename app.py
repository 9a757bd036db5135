"""Kleer Workbench — the router. Each page draws the shared frame itself (workbench.ui.frame)."""

import streamlit as st

from workbench.ui.nav import PAGES, ROOT

pages = [st.Page(str(ROOT / path), title=title, icon=icon, url_path=url, default=(i == 0))
         for i, (path, title, icon, url) in enumerate(PAGES)]
st.navigation(pages, position="hidden").run()  # the frame draws the menu
