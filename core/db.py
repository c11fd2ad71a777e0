"""Database: declarative base, naming convention, shared column types and the session."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, Annotated, Any, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, mapped_column, scoped_session, sessionmaker
from werkzeug.exceptions import NotFound

if TYPE_CHECKING:
    from flask import Flask

#: One naming convention, so migrations name constraints the same on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(sa.types.TypeDecorator[dt.datetime]):
    """Timezone-aware datetimes stored as UTC on every backend (SQLite has no timezone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


intpk = Annotated[int, mapped_column(primary_key=True)]
#: The largest value an INTEGER column holds (PostgreSQL's int4; SQLite's are wider).
MAX_INT = 2**31 - 1


def as_id(value: object) -> int | None:
    """A request's value as a row id, or None when it cannot be one (not an integer, a
    boolean, out of the columns' range): a lookup with it would fail in the driver."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_INT:
        return None
    return value


def int_arg(text: str) -> int:
    """For `request.args.get(name, type=int_arg)`: an integer an INTEGER column holds; any
    other text raises ValueError, so the argument's default applies."""
    value = int(text)
    if abs(value) > MAX_INT:
        raise ValueError(text)
    return value


str80 = Annotated[str, mapped_column(sa.String(80))]
str200 = Annotated[str, mapped_column(sa.String(200))]
long_text = Annotated[str, mapped_column(sa.Text)]
timestamp = Annotated[dt.datetime, mapped_column(UTCDateTime())]


def utcnow() -> dt.datetime:
    """Current time, timezone-aware."""
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    """Base class of every model."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dt.datetime: UTCDateTime(), str: sa.String(255)}


def _writes_expected() -> bool:
    """Whether the current unit of work may write: a state-changing request, or not a request."""
    from flask import g, has_app_context, has_request_context, request

    if has_app_context() and g.get("writes_expected") is not None:
        # Set by a Socket.IO event that writes (its request is the handshake's GET), or by a
        # background task that only reads (it must not hold the write lock while it emits).
        return bool(g.writes_expected)
    if has_request_context():
        return request.method not in ("GET", "HEAD", "OPTIONS")
    return True


def _configure_sqlite(engine: Engine) -> None:
    """Foreign keys, WAL, and real transactions (so SAVEPOINT and transactional DDL work)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, connection_record: Any) -> None:
        # pysqlite's own transaction handling breaks SAVEPOINT: take it over (SQLAlchemy docs).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        # With WAL, NORMAL syncs at checkpoints, not at every commit: a committed transaction
        # survives the death of the process (it is in the WAL file); only a power cut can
        # lose the last ones. FULL would stall every vote on a disk flush.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        # Writers take the lock up front (IMMEDIATE): a deferred transaction that reads and
        # then writes fails at once if another writer committed in between, where IMMEDIATE
        # waits its turn (busy_timeout). Reads stay deferred so they never queue behind a
        # writer (WAL). Long jobs commit before long work, so they hold no lock meanwhile.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if _writes_expected() else "BEGIN")


def str_enum(kind: type[enum.Enum], length: int, **options: Any) -> sa.Enum:
    """A column of an enum stored by its values in a VARCHAR (no native type to migrate)."""
    return sa.Enum(
        kind,
        native_enum=False,
        length=length,
        values_callable=lambda e: [m.value for m in e],
        **options,
    )


M = TypeVar("M", bound=Base)


def conflict_insert(session: Session, model: type[Base]) -> Any:
    """An INSERT with ON CONFLICT clauses (`on_conflict_do_nothing/_do_update`) for the backend.

    PostgreSQL and SQLite spell them the same way; both run them atomically, which is what
    makes "written once" hold under concurrent requests without read-then-write races.
    """
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(model)
    if dialect == "sqlite":
        return sqlite.insert(model)
    raise RuntimeError(f"unsupported database backend: {dialect}")


class Database:
    """Engine and scoped session bound to the Flask app; removed at the end of each context."""

    def __init__(self) -> None:
        self.engine: Engine | None = None
        #: One session per thread (per greenlet under gevent), removed at the end of a context.
        self.registry: scoped_session[Session] = scoped_session(
            sessionmaker(expire_on_commit=False)
        )

    @property
    def session(self) -> Session:
        """The current session (a proxy to this thread's session)."""
        return cast(Session, self.registry)

    def init_app(self, app: Flask) -> None:
        url = app.config["SQLALCHEMY_DATABASE_URI"]
        self.engine = create_engine(url)
        self.registry.remove()
        self.registry.configure(bind=self.engine)
        app.extensions["database"] = self
        app.teardown_appcontext(self._teardown)

    def _teardown(self, exc: BaseException | None) -> None:
        self.registry.remove()

    def get_or_404(self, model: type[M], ident: Any) -> M:
        """The row with this primary key, or a 404."""
        obj = self.session.get(model, ident)
        if obj is None:
            raise NotFound()
        return obj


def create_engine(url: str) -> Engine:
    """An engine with sane pool settings for the backend."""
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": 30})
        _configure_sqlite(engine)
        return engine
    return sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


db = Database()


#: Schema objects made by migrations outside the models (full-text search of tips).
UNMANAGED_PREFIXES = ("tips_fts", "ix_tips_fts")


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """Alembic's filter: leave the unmanaged full-text objects out of comparisons."""
    return not (name or "").startswith(UNMANAGED_PREFIXES)
