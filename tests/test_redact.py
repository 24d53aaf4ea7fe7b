from __future__ import annotations

import pytest
from alembic_env_lsp.redact import is_secret_name, password_span, redact_text, redact_url


@pytest.mark.parametrize(
    "url, expected",
    [
        ("postgresql+asyncpg://app:s3cr%40t@db/app", "postgresql+asyncpg://app:***@db/app"),
        (
            "postgresql://app:secret@db:5432/app?sslmode=require",
            "postgresql://app:***@db:5432/app?sslmode=require",
        ),
        ("mysql+pymysql://root:pw@127.0.0.1/x", "mysql+pymysql://root:***@127.0.0.1/x"),
        # empty user name, password only (redis style)
        ("redis://:hunter2@cache:6379/0", "redis://:***@cache:6379/0"),
        # '@', '/', ':' and '?' written raw inside the password
        ("postgresql://app:p@ss@db/app", "postgresql://app:***@db/app"),
        ("postgresql://app:a/b:c@db/app", "postgresql://app:***@db/app"),
        ("postgresql://app:wh?at@db/app", "postgresql://app:***@db/app"),
        ("postgresql://app:p@ss@db/app?x=1", "postgresql://app:***@db/app?x=1"),
        # password given as a query parameter
        (
            "postgresql://app@db/app?password=s3cret&sslmode=require",
            "postgresql://app@db/app?password=***&sslmode=require",
        ),
        (
            "postgresql://db/app?user=app&PASSWORD=x%40y",
            "postgresql://db/app?user=app&PASSWORD=***",
        ),
        (
            "mssql+pyodbc://u:p@dsn?odbc_connect=DRIVER%3D%7BODBC%7D%3BUID%3Dsa%3BPWD%3Dtop%3Bsecret%3B",
            "mssql+pyodbc://u:***@dsn?odbc_connect=DRIVER%3D%7BODBC%7D%3BUID%3Dsa%3BPWD%3D***%3Bsecret%3B",
        ),
        # leading whitespace is kept
        ("  sqlite+aiosqlite://u:p@/x", "  sqlite+aiosqlite://u:***@/x"),
        # SQLAlchemy's own rendering is already masked and stays that way
        ("postgresql+asyncpg://app:***@db/app", "postgresql+asyncpg://app:***@db/app"),
    ],
)
def test_redact_url_masks_password(url, expected):
    assert redact_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://app@db/app",
        "postgresql://db:5432/app",
        "sqlite:///./app.db",
        "sqlite:////abs/path/with@sign.db",
        "sqlite:///C:/Users/me/app.db",
        "postgresql://app:@db/app",  # empty password: nothing to hide
        "driver://user:%(DB_PASSWORD)s@localhost/dbname",  # names a secret, holds none
        "postgresql://app:${DB_PASSWORD}@db/app",
        "postgresql://app@db/app?password=",
        "${DATABASE_URL}",
        "just some text with user:pass@host in it",
        "",
    ],
)
def test_redact_url_leaves_other_strings_alone(url):
    assert redact_url(url) == url


@pytest.mark.parametrize("value", [None, 3, b"postgresql://u:p@h/d"])
def test_non_strings_pass_through(value):
    assert redact_url(value) is value
    assert redact_text(value) is value


def test_password_span():
    url = "postgresql://app:s3cr%40t@db/app"
    start, end = password_span(url)
    assert url[start:end] == "s3cr%40t"
    assert password_span("postgresql://app@db/app") is None
    assert password_span("not a url") is None


def test_redact_text_in_messages_logs_and_markdown():
    text = (
        "ENV001 create_async_engine() with 'postgresql+psycopg2://app:pw1@db/app' fails.\n"
        "log: connecting to mysql+pymysql://root:pw2@localhost/x (attempt 2)\n"
        "| url | `sqlite+aiosqlite://u:pw3@/x.db` |\n"
        "[link](postgresql://a:pw4@h/d) and <redis://:pw5@cache/0>\n"
        "already masked postgresql://app:***@db/app, none here sqlite:///a.db\n"
    )
    out = redact_text(text)
    for secret in ("pw1", "pw2", "pw3", "pw4", "pw5"):
        assert secret not in out
    assert "'postgresql+psycopg2://app:***@db/app' fails." in out
    assert "mysql+pymysql://root:***@localhost/x (attempt 2)" in out
    assert "`sqlite+aiosqlite://u:***@/x.db`" in out
    assert "[link](postgresql://a:***@h/d)" in out
    assert "<redis://:***@cache/0>" in out
    assert "sqlite:///a.db" in out


def test_redact_text_with_at_sign_and_quotes_in_password():
    out = redact_text('url="postgresql://app:p@ss\'w@db/app" rest')
    assert out == 'url="postgresql://app:***@db/app" rest'


def test_redact_text_without_urls_is_identity():
    text = "user:pass@host is not a URL; neither is %(here)s/migrations"
    assert redact_text(text) is text or redact_text(text) == text


def test_redact_text_configparser_message():
    message = (
        "Bad value substitution: option 'sqlalchemy.url' in section 'alembic' contains an "
        "interpolation key 'host' which is not a valid option name. Raw value: "
        "'postgresql://app:s3cret@%(host)s/app'"
    )
    out = redact_text(message)
    assert "s3cret" not in out
    assert "'postgresql://app:***@%(host)s/app'" in out


@pytest.mark.parametrize(
    "name, secret",
    [
        ("db_password", True),
        ("api_key", True),
        ("secret_key", True),
        ("keys", False),
        ("url", False),
    ],
)
def test_secret_names_but_not_the_logging_sections_keys(name, secret):
    # `keys = root` is in every logging section of alembic.ini: masking it hid every 't' of
    # an error message that quoted a continued sqlalchemy.url value.
    assert is_secret_name(name) is secret
