"""The journal's SQLite tables, and the columns an older journal gains when it is opened."""

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS jobs (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        job_id TEXT NOT NULL UNIQUE,
        order_id TEXT,
        state TEXT NOT NULL,
        body TEXT NOT NULL,
        amount INTEGER,
        result TEXT,
        fiscal_number TEXT,
        device TEXT,
        printed_at INTEGER,
        error_code TEXT,
        error_message TEXT,
        device_attempts INTEGER NOT NULL DEFAULT 0,
        created_ms INTEGER NOT NULL,
        updated_ms INTEGER NOT NULL,
        result_ms INTEGER,
        reported_ms INTEGER
    )""",
    "CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs (state)",
    "CREATE INDEX IF NOT EXISTS jobs_by_created ON jobs (created_ms)",
    """CREATE TABLE IF NOT EXISTS operations (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        job_id TEXT,
        action_type TEXT NOT NULL,
        device_name TEXT NOT NULL,
        state TEXT NOT NULL,
        started_ms INTEGER NOT NULL,
        finished_ms INTEGER,
        amount_cents INTEGER,
        fiscal_number TEXT,
        error_code TEXT,
        error_message TEXT
    )""",
    "CREATE INDEX IF NOT EXISTS operations_by_job ON operations (job_id)",
    """CREATE TABLE IF NOT EXISTS messages (
        message_id TEXT PRIMARY KEY,
        job_id TEXT NOT NULL,
        receipt_handle TEXT NOT NULL,
        receive_count INTEGER NOT NULL,
        first_received_ms INTEGER NOT NULL,
        last_received_ms INTEGER NOT NULL,
        deleted_ms INTEGER
    )""",
    "CREATE INDEX IF NOT EXISTS messages_by_job ON messages (job_id)",
    # The messages still on the queue: the poller looks for them every cycle, and a full scan grows with the history.
    "CREATE INDEX IF NOT EXISTS messages_on_queue ON messages (job_id) WHERE deleted_ms IS NULL",
    """CREATE TABLE IF NOT EXISTS charges (
        job_id TEXT PRIMARY KEY,
        state TEXT NOT NULL,
        terminal TEXT NOT NULL,
        amount INTEGER NOT NULL,
        approval_code TEXT,
        rrn TEXT,
        updated_ms INTEGER NOT NULL
    )""",
    # Sales taken at the till (store and forward, DESIGN §5); an older journal gains the table when it is opened.
    """CREATE TABLE IF NOT EXISTS sales (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        order_id TEXT NOT NULL UNIQUE,
        job_id TEXT NOT NULL UNIQUE,
        state TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        printer TEXT,
        receipt TEXT NOT NULL,
        sale TEXT NOT NULL,
        fiscal TEXT,
        error_code TEXT,
        error_message TEXT,
        upload_attempts INTEGER NOT NULL DEFAULT 0,
        created_ms INTEGER NOT NULL,
        updated_ms INTEGER NOT NULL,
        printed_ms INTEGER,
        uploaded_ms INTEGER
    )""",
    "CREATE INDEX IF NOT EXISTS sales_by_state ON sales (state)",
)

# Columns added to ``operations`` after its first release; an older journal gains them on open.
OPERATION_COLUMNS = {"device_id": "TEXT", "description": "TEXT", "full_text": "TEXT", "request": "TEXT"}
# Columns added to ``charges``: the failed result (JSON) and its error code, held back while the charge is reversed.
CHARGE_COLUMNS = {"failure": "TEXT", "failure_code": "TEXT"}

MAX_BODY = 64_000
MAX_TEXT = 200_000

