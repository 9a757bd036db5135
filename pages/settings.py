"""Settings: the Kleer connection and test, email preference, HR label, masking, how many Kleer
requests an apply keeps in flight."""

from datetime import datetime, timezone

import streamlit as st

from dataclasses import replace

from workbench.errors import WorkbenchError
from workbench.ui import access, leave_panels, session
from workbench.ui.frame import frame

wb = frame("Settings")
st.title("Settings")
current = wb.settings
token = session.kleer_token()
admin = access.can("admin")
if not admin:
    st.info(f"Settings are read-only for your role ({access.current_role()}); an admin can change them.")

st.subheader("Kleer connection")
with st.form("kleer_connection"):
    base_url = st.text_input("Kleer API base URL", value=current.kleer_base_url,
                             help="https://api.kleer.se/v1 (production), https://test-api.kleer.se/v1 "
                                  "(test store), or the local simulator")
    company_id = st.number_input("Company id", value=int(current.kleer_company_id), min_value=1, step=1)
    st.text_input("Token", value="set" if token else "not set", disabled=True,
                  help="The token comes from the KLEER_TOKEN environment variable or "
                       ".streamlit/secrets.toml. It is never stored in the workspace or shown.")
    saved = st.form_submit_button("Save connection", disabled=not admin)
if saved:
    try:
        wb.update_settings(kleer_base_url=base_url.strip(), kleer_company_id=int(company_id))
        st.success("Connection settings saved.")
    except WorkbenchError as e:
        st.error(str(e))

if st.button("Test connection", key="test_connection", disabled=not token):
    with st.spinner("Asking Kleer who we are…"):
        try:
            me = wb.test_connection(token=token)
            message = f"connected as {me.get('name') or me.get('email') or me.get('id')}"
            st.session_state["connection"] = {"ok": True, "message": message,
                                              "at": datetime.now(timezone.utc).isoformat()}
            st.success(f"Kleer answered: {message}.")
        except WorkbenchError as e:
            st.session_state["connection"] = {"ok": False, "message": type(e).__name__,
                                              "at": datetime.now(timezone.utc).isoformat()}
            st.error(str(e))
if not token:
    st.info("Set KLEER_TOKEN (or KLEER_TOKEN in .streamlit/secrets.toml) and restart to connect.")

st.subheader("Workbench")
with st.form("preferences"):
    email_choice = st.radio("Email to export to Kleer", ["private", "work"],
                            index=["private", "work"].index(current.email_preference),
                            format_func=lambda v: {"private": "Private email (default)",
                                                   "work": "Work email"}[v], horizontal=True)
    hr_label = st.text_input("Name of the HR system", value=current.hr_label,
                             help="Used in tab and column labels, e.g. 'Sympa' or 'Personio'.")
    mask_default = st.checkbox("Mask personnummer and bank numbers by default",
                               value=current.mask_personal_data)
    saved_prefs = st.form_submit_button("Save", disabled=not admin)
if saved_prefs:
    try:
        wb.update_settings(email_preference=email_choice, hr_label=hr_label.strip(),
                           mask_personal_data=bool(mask_default))
        st.success("Saved.")
    except WorkbenchError as e:
        st.error(str(e))

st.subheader("Kleer requests in flight")
with st.form("concurrency"):
    ceiling = st.number_input(
        "Ceiling", 1, 64, int(current.concurrency_ceiling), step=1,
        help="The most requests an apply keeps in flight at once. Every apply adapts below it: it "
             "starts at 8, adds one while Kleer answers fast and clean, and slows down at once "
             "on 429, 503 or rising latency.")
    pinned = st.checkbox("Pin every apply at the ceiling (do not adapt)",
                         value=current.concurrency_pinned)
    saved_concurrency = st.form_submit_button("Save ceiling", disabled=not admin)
if saved_concurrency:
    try:
        wb.update_settings(concurrency_ceiling=int(ceiling), concurrency_pinned=bool(pinned))
        st.success("Saved: the next apply uses it.")
    except WorkbenchError as e:
        st.error(str(e))

st.subheader("Match thresholds")
match = wb.match_settings()
with st.form("match_thresholds"):
    c1, c2, c3, c4 = st.columns(4)
    certain = c1.number_input("Certain from", 0.0, 100.0, float(match.certain), step=1.0,
                              help="Assigned suggestions at or above this are proposed as Prefer HR")
    likely = c2.number_input("Likely from", 0.0, 100.0, float(match.likely), step=1.0)
    possible = c3.number_input("Possible from", 0.0, 100.0, float(match.possible), step=1.0,
                               help="Candidates below this are not suggested at all")
    top_k = c4.number_input("Candidates per employee", 1, 20, int(match.top_k), step=1)
    saved_match = st.form_submit_button("Save thresholds", disabled=not admin)
if saved_match:
    try:
        wb.update_match_settings(replace(match, certain=certain, likely=likely, possible=possible,
                                         top_k=int(top_k)))
        st.success("Thresholds saved. Re-run matching on Import from Kleer to apply them.")
    except WorkbenchError as e:
        st.error(str(e))

leave_panels.settings_section(wb)
