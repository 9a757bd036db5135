"""Settings: the Kleer connection and test, email preference, HR label, masking, thresholds, leave,
and real Kleer: the salary unit, internal-id writes, the probe (analyst role, confirmed); how
many Kleer requests an apply keeps in flight."""

from datetime import datetime, timezone

import streamlit as st

from dataclasses import replace

from workbench.errors import WorkbenchError
from workbench.ui import access, leave_panels, model_panel, session
from workbench.ui.frame import frame
from workbench.ui.text import md

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
        st.error(md(e))

if st.button("Test connection", key="test_connection", disabled=not token):
    with st.spinner("Asking Kleer who we are…"):
        try:
            me = wb.test_connection(token=token)
            message = f"connected as {me.get('name') or me.get('email') or me.get('id')}"
            st.session_state["connection"] = {"ok": True, "message": message,
                                              "at": datetime.now(timezone.utc).isoformat()}
            st.success(f"Kleer answered: {md(message)}.")
        except WorkbenchError as e:
            st.session_state["connection"] = {"ok": False, "message": type(e).__name__,
                                              "at": datetime.now(timezone.utc).isoformat()}
            st.error(md(e))
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
        st.error(md(e))

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
        st.error(md(e))

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
        st.error(md(e))

model_panel.model_expander(wb)

leave_panels.settings_section(wb)

# --------------------------------------------------------------------------- real Kleer
st.subheader("Real Kleer")
st.caption("What the workbench cannot read from Kleer's documentation: check it with the probe on "
           "a test account (https://test-api.kleer.se/v1), then confirm the salary unit. The "
           "README's \"Real Kleer\" section lists every assumption.")
with st.form("kleer_fidelity"):
    units = ["kronor", "öre"]
    salary_unit = st.radio("Kleer's monthly salary counts", units, horizontal=True,
                           index=units.index(current.salary_unit),
                           format_func=lambda v: {"kronor": "whole kronor", "öre": "öre"}[v])
    unit_confirmed = st.checkbox(
        "I have checked the salary unit in Kleer", value=current.salary_unit_confirmed,
        help="Look at the probe user's salary in Kleer: 12 345 kr means kronor, 123,45 kr öre. "
             "Until this is ticked, salary changes to a Kleer that is not on this machine are "
             "blocked in the plan.")
    internal_ids = st.checkbox(
        "Write the employee number to Kleer's internal-id", value=current.internal_id_writes,
        help="Off by default: the meaning of internal-id is uncertain and another integration "
             "may own it.")
    saved_fidelity = st.form_submit_button("Save Kleer settings", disabled=not admin)
if saved_fidelity:
    try:
        wb.update_settings(salary_unit=salary_unit, salary_unit_confirmed=bool(unit_confirmed),
                           internal_id_writes=bool(internal_ids))
        st.success("Kleer settings saved.")
    except WorkbenchError as e:
        st.error(str(e))

dialect = wb.settings.kleer_dialect
st.text("Kleer dialect: " + ("not probed (the strict dialect is assumed)" if dialect is None else
                             ", ".join(f"{k} {v}" for k, v in dialect.items() if k != "name")))
may_probe = access.can("analyst")
understood = st.checkbox("I understand: the probe creates one throwaway user in this Kleer "
                         "account and leaves it inactive (Kleer has no delete)",
                         key="probe_understood", disabled=not (may_probe and token))
production = st.checkbox("This is a production account: probe it anyway", key="probe_production",
                         disabled=not (may_probe and token))
if st.button("Probe Kleer", key="probe", disabled=not (may_probe and token and understood)):
    with st.spinner("Probing Kleer with a throwaway user…"):
        try:
            report = wb.probe(token=token, production=bool(production))
            st.session_state["probe_report"] = report.as_dict()
            st.session_state.pop("probe_error", None)
        except WorkbenchError as e:
            st.session_state["probe_error"] = str(e)
    st.rerun()
if not may_probe:
    access.require("analyst", "probe Kleer")
if st.session_state.get("probe_error"):
    st.error(st.session_state["probe_error"])
if st.session_state.get("probe_report"):
    probed = st.session_state["probe_report"]
    marks = {True: "as assumed", False: "DIFFERS", None: "not checked"}
    st.success(f"Probe done against {probed['base_url']}; the dialect is stored and the client "
               f"uses it. Throwaway user {probed['throwaway_user_id']}: "
               + ("inactive." if probed["deactivated"] else "NOT deactivated: do it in Kleer."))
    st.dataframe([{"point": p["name"], "result": marks[p["as_assumed"]], "assumed": p["assumed"],
                   "observed": p["observed"], "consequence": p["consequence"]}
                  for p in probed["points"]], hide_index=True, width="stretch")
