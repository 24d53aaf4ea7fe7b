"""The inputs of the benchmark suite (bench/run.py), generated into a temporary folder: the
benchmark project (the async sample, Alembic's generic template), env.py files of 1,000 and
5,000 lines, a 50,000-line module that is not an env script, and 1,000 projects for the CLI.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
PY = sys.executable

# Which generated file each LSP group runs on (prepare() makes only the ones asked for).
GROUP_FILE = {
    "life-a": "a",
    "steady-a": "a",
    "steady-sync": "sync",
    "steady-1k": "k1",
    "steady-5k": "k5",
    "busy-5k": "k5",
    "big-50k": "c50",
    "big-50k-incr": "c50",
    "push-a": "a",
    "push-5k": "k5",
}

# A module that uses SQLAlchemy but is not an env script (no `alembic.context`): the header of
# the 50,000-line file.  gen_big.py appends generated classes and functions to it.
NONENV_HEADER = '''"""Application models and helpers for the orders service (not a migration script)."""
from __future__ import annotations

import datetime as dt
import os

from sqlalchemy import DateTime, ForeignKey, Integer, MetaData, String, create_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql+psycopg2://app@localhost/orders")
engine = create_engine(DATABASE_URL, pool_pre_ping=True)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention={"pk": "pk_%(table_name)s"})


class Customer(Base):
    __tablename__ = "customer"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    orders: Mapped[list["Order"]] = relationship(back_populates="customer")


class Order(Base):
    __tablename__ = "order"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    customer: Mapped[Customer] = relationship(back_populates="orders")
'''


def alembic_ini() -> str:
    """The benchmark project's ini: its URL plus the logging sections of Alembic's template."""
    from alembic_env_lsp.knowledge import template_logging_block

    head = (
        "[alembic]\nscript_location = %(here)s/migrations\nprepend_sys_path = .\n"
        "sqlalchemy.url = postgresql+asyncpg://app:secret@localhost/orders\n\n"
    )
    return head + template_logging_block()


# ---- inputs -------------------------------------------------------------------------------


def gen_big(header: Path, out: Path, lines: int) -> None:
    subprocess.run(
        [PY, str(BENCH / "gen_big.py"), str(header), str(out), str(lines)],
        check=True,
        stdout=subprocess.DEVNULL,
    )


def make_project(root: Path, env_text: str) -> Path:
    (root / "migrations").mkdir(parents=True)
    (root / "alembic.ini").write_text(alembic_ini())
    env = root / "migrations" / "env.py"
    env.write_text(env_text)
    return env


def cli_templates() -> list[tuple[str, str]]:
    """The env.py texts the CLI folder is made of: the async sample plus Alembic's own templates."""
    out = [("sample", (BENCH / "env_async_sample.py").read_text())]
    try:
        import alembic

        tdir = Path(alembic.__file__).parent / "templates"
        for t in sorted(tdir.iterdir()):
            env = t / "env.py"
            if env.is_file():
                out.append((t.name, env.read_text()))
    except ImportError:
        pass
    return out


def prepare(tmp: Path, groups: list[str]) -> dict:
    sample = (BENCH / "env_async_sample.py").read_text()
    files: dict = {}
    files["a"] = (make_project(tmp / "a", sample), tmp / "a")
    if any(GROUP_FILE.get(g) == "sync" for g in groups):
        # Alembic's own `generic` template (engine_from_config + connect()) in a project whose
        # URL is postgresql+asyncpg: the mistake this product exists for, so ENV002 fires.
        generic = dict(cli_templates()).get("generic")
        if generic is not None:
            files["sync"] = (make_project(tmp / "sync", generic), tmp / "sync")
    big_env = tmp / "big_env_header.py"
    big_env.write_text(sample)
    if any(GROUP_FILE.get(g) == "k1" for g in groups):
        env = make_project(tmp / "k1", "")
        gen_big(big_env, env, 1000)
        files["k1"] = (env, tmp / "k1")
    if any(GROUP_FILE.get(g) == "k5" for g in groups):
        env = make_project(tmp / "k5", "")
        gen_big(big_env, env, 5000)
        files["k5"] = (env, tmp / "k5")
    if any(GROUP_FILE.get(g) == "c50" for g in groups):
        make_project(tmp / "c50", sample)
        (tmp / "c50" / "app").mkdir()
        header = tmp / "nonenv_header.py"
        header.write_text(NONENV_HEADER)
        big = tmp / "c50" / "app" / "bulk.py"
        gen_big(header, big, 50000)
        files["c50"] = (big, tmp / "c50")
    if "cli" in groups:
        # 1,000 env.py files, round-robin over the templates, each made unique by a first-line
        # comment, twice: bare (env.py files found because they import alembic's context) and
        # as 1,000 Alembic projects (alembic.ini + migrations/env.py, found through the ini).
        templates = cli_templates()
        for i in range(1000):
            name, text = templates[i % len(templates)]
            text = f"# project {i} ({name} template)\n{text}"
            (tmp / "cli-bare" / f"p{i:04d}").mkdir(parents=True)
            (tmp / "cli-bare" / f"p{i:04d}" / "env.py").write_text(text)
            make_project(tmp / "cli-projects" / f"p{i:04d}", text)
        files["cli"] = {"bare": tmp / "cli-bare", "projects": tmp / "cli-projects"}
    files["_lines"] = {
        key: v[0].read_text().count("\n")
        for key, v in files.items()
        if isinstance(v, tuple) and v[0].is_file()
    }
    return files
