"""Component ids, declared once."""

MAIN = "main"
LEDGER_TABLE = "ledger-table"
QUARANTINE_TABLE = "quarantine-table"
