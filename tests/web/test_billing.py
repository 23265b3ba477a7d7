"""GET /billing/credits pages the statement (one line per task outcome) by a cursor, and
GET /billing/credits.csv exports it whole for accounting."""
from __future__ import annotations

import csv
import io


def test_the_statement_pages_by_cursor_twenty_lines_at_a_time(service):
    from bgremover.service import credits

    acc = service.new_account(1)
    for i in range(24):
        credits.grant(service.db, account_id=acc.id, amount=1, note=f"grant {i}")
    with service.client(acc) as c:
        first = c.get("/billing/credits").json()
        assert first["credits"] == 25 and len(first["ledger"]) == 20
        assert first["ledger"][0]["note"] == "grant 23" and first["next_before"] == first["ledger"][-1]["id"]
        second = c.get("/billing/credits", params={"before": first["next_before"]}).json()
        assert len(second["ledger"]) == 5 and second["next_before"] is None
        seen = [e["id"] for e in first["ledger"] + second["ledger"]]
        assert seen == sorted(set(seen), reverse=True), "no gaps, no repeats, newest first"
        small = c.get("/billing/credits", params={"limit": 3}).json()
        assert len(small["ledger"]) == 3 and small["next_before"] == small["ledger"][-1]["id"]
        assert c.get("/billing/credits", params={"limit": 0}).json()["error"]["code"] == "validation_error"


def test_the_csv_export_has_every_line_and_the_running_balance(service):
    from bgremover.service import credits

    acc = service.new_account(3)
    credits.grant(service.db, account_id=acc.id, amount=2, note='top-up, "thanks"')
    with service.client(acc) as c:
        r = c.get("/billing/credits.csv")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        assert "attachment" in r.headers["content-disposition"]
        rows = list(csv.DictReader(io.StringIO(r.text)))
        assert [(x["reason"], x["delta"], x["balance_after"]) for x in rows] == [("grant", "3", "3"),
                                                                               ("grant", "2", "5")]
        assert rows[1]["note"] == 'top-up, "thanks"'
    with service.client() as anon:
        assert anon.get("/billing/credits.csv").status_code == 401
