"""Table definitions. Changes to these go through a migration in migrations/versions/."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
)
from sqlalchemy import DateTime as _DateTime


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in and out; stored as UTC so SQLite and PostgreSQL agree."""

    impl = _DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; pass an aware one")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)  # type: ignore[no-any-return]


metadata = MetaData()

items = Table(
    "items",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("source", String(64), nullable=False),
    Column("ident", String(256), nullable=False),
    Column("guid", Text),
    Column("url", Text, nullable=False),
    Column("url_norm", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("title_norm", Text, nullable=False),
    Column("summary", Text, nullable=False),
    Column("published_at", UTCDateTime),
    Column("fetched_at", UTCDateTime, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("language", String(32)),
    Column("encoding", String(64)),
    Column("repost_of", Integer, ForeignKey("items.id")),
    Index("ix_items_source_ident", "source", "ident", unique=True),
    Index("ix_items_source_hash", "source", "content_hash"),
    Index("ix_items_url_norm", "url_norm"),
    Index("ix_items_title_norm", "title_norm"),
    Index("ix_items_fetched_at", "fetched_at"),
)

source_health = Table(
    "source_health",
    metadata,
    Column("source", String(64), primary_key=True),
    Column("url", Text, nullable=False),
    Column("status", String(16)),
    Column("http_status", Integer),
    Column("last_attempt_at", UTCDateTime),
    Column("last_success_at", UTCDateTime),
    Column("last_error", Text),
    Column("last_warning", Text),
    Column("consecutive_failures", Integer, nullable=False, default=0),
    Column("fault", String(16)),
    Column("next_check_at", UTCDateTime),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("body_hash", String(64)),
    Column("entries_per_day", Float, nullable=False, default=0.0),
)

signals = Table(
    "signals",
    metadata,
    Column("item_id", Integer, ForeignKey("items.id"), primary_key=True),
    Column("health", Boolean, nullable=False),
    Column("health_score", Float, nullable=False),
    Column("topics", Text, nullable=False),  # JSON [{"key", "score"}], best first
    Column("negative", Float, nullable=False),
    Column("plans", Text, nullable=False),  # JSON [{"name", "matched": [...]}]
    Column("places", Text, nullable=False),  # JSON [name, ...]
    Column("model", String(64), nullable=False),
    Column("analysed_at", UTCDateTime, nullable=False),
    Column("risk", Float, nullable=False, server_default="0"),
    Column("cues", Text, nullable=False, server_default="{}"),  # JSON {"risk": [], "tone": []}
    Index("ix_signals_health", "health"),
)

labels = Table(
    "labels",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("item_id", Integer, ForeignKey("items.id"), nullable=False),
    Column("relevant", Boolean, nullable=False),
    Column("topics", Text),  # JSON [key, ...]; NULL when the labeller did not say
    Column("negative", Boolean),  # NULL when the labeller did not say
    Column("labelled_by", String(64), nullable=False),
    Column("labelled_at", UTCDateTime, nullable=False),
    Index("ix_labels_item", "item_id"),
)

# Which story (near-duplicate group) each relevant item belongs to; story_id is its first item.
item_stories = Table(
    "item_stories",
    metadata,
    Column("item_id", Integer, ForeignKey("items.id"), primary_key=True),
    Column("story_id", Integer, ForeignKey("items.id"), nullable=False),
    Index("ix_item_stories_story", "story_id"),
)

incidents = Table(
    "incidents",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("status", String(16), nullable=False),
    Column("title", Text, nullable=False),
    Column("opened_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("first_item_id", Integer, ForeignKey("items.id"), nullable=False),
    Column("first_source", String(64), nullable=False),
    Column("topics", Text, nullable=False),  # JSON [key, ...]
    Column("keywords", Text, nullable=False),  # JSON [word, ...]
    Column("places", Text, nullable=False),  # JSON [name, ...]
    Column("region", Text),
    Column("items", Integer, nullable=False),
    Column("stories", Integer, nullable=False),
    Column("sources", Integer, nullable=False),
    Column("negative_share", Float, nullable=False),
    Column("heat", Float, nullable=False),
    Column("proposed_level", String(4)),
    Column("level", String(4)),
    Column("parent_id", Integer, ForeignKey("incidents.id")),
    Column("merged_into", Integer, ForeignKey("incidents.id")),
    Index("ix_incidents_status", "status"),
)

incident_items = Table(
    "incident_items",
    metadata,
    Column("item_id", Integer, ForeignKey("items.id"), primary_key=True),
    Column("incident_id", Integer, ForeignKey("incidents.id"), nullable=False),
    Column("added_at", UTCDateTime, nullable=False),
    Index("ix_incident_items_incident", "incident_id"),
)

timeline = Table(
    "timeline",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("incident_id", Integer, ForeignKey("incidents.id"), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("type", String(32), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("data", Text, nullable=False),  # JSON object
    Index("ix_timeline_incident", "incident_id", "id"),
)

# How far each stage has read the items table (items are analysed in id order).
stage_cursors = Table(
    "stage_cursors",
    metadata,
    Column("stage", String(32), primary_key=True),
    Column("last_item_id", Integer, nullable=False),
)

# Response clocks. One row per incident whose clocks started, with the policy frozen onto it.
clocks = Table(
    "clocks",
    metadata,
    Column("incident_id", Integer, ForeignKey("incidents.id"), primary_key=True),
    Column("policy", Text, nullable=False),  # JSON, as it was when the clocks started
    Column("start_rule", String(16), nullable=False),  # detected, first_item or occurred
    Column("detected_at", UTCDateTime, nullable=False),
    Column("first_item_at", UTCDateTime, nullable=False),
    Column("occurred_at", UTCDateTime),
    Column("start_at", UTCDateTime, nullable=False),
    Column("level", String(4), nullable=False),
    Column("level_confirmed", Boolean, nullable=False),
    Column("acknowledged_at", UTCDateTime),
    Column("acknowledged_by", String(64)),
    Column("stopped", String(16)),  # why the clocks stopped: dismissed, closed, merged
)

deadlines = Table(
    "deadlines",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("incident_id", Integer, ForeignKey("incidents.id"), nullable=False),
    Column("key", String(32), nullable=False),
    Column("label", Text, nullable=False),
    Column("met_by", Text, nullable=False),  # JSON [milestone kind, ...]
    Column("hard", Boolean, nullable=False),
    Column("due_at", UTCDateTime, nullable=False),
    Column("status", String(16), nullable=False),  # pending, met, missed, cancelled
    Column("met_at", UTCDateTime),
    Column("missed_at", UTCDateTime),
    Index("ux_deadlines_incident_key", "incident_id", "key", unique=True),
)

# Everything the clocks will do, as rows: a row is claimed by a conditional UPDATE in the same
# transaction that writes its timeline event and outbox rows.
due_actions = Table(
    "due_actions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("incident_id", Integer, ForeignKey("incidents.id"), nullable=False),
    Column("kind", String(16), nullable=False),  # escalate, remind, check
    Column("deadline_key", String(32)),
    Column("step", Integer),
    Column("due_at", UTCDateTime, nullable=False),
    Column("status", String(16), nullable=False),  # pending, done, cancelled
    Column("done_at", UTCDateTime),
    Index("ix_due_actions_pending", "status", "due_at"),
    Index("ix_due_actions_incident", "incident_id", "status"),
)

# Alerts waiting for delivery; one row per recipient, unique by key so a retried action cannot
# queue the same alert twice.
outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("key", String(128), nullable=False, unique=True),
    Column("incident_id", Integer, ForeignKey("incidents.id"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("kind", String(32), nullable=False),  # the timeline event it tells about
    Column("person", String(64), nullable=False),
    Column("role", String(32), nullable=False),
    Column("channels", Text, nullable=False),  # JSON {channel: address}, as the roster had it
    Column("data", Text, nullable=False),  # JSON: what the message says
    Column("status", String(16), nullable=False),  # pending, sending, sent, failed, dead
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime),
    Column("last_error", Text),
    Column("sent_at", UTCDateTime),
    Index("ix_outbox_status", "status", "next_attempt_at"),
)

# One row per outbox row and channel: what the sender does, with a lease while it sends, so a
# sender killed mid-delivery is found out and the message sent again, marked as a resend.
deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("outbox_id", Integer, ForeignKey("outbox.id"), nullable=False),
    Column("channel", String(64), nullable=False),
    Column("status", String(16), nullable=False),  # pending, sending, sent, failed, dead
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("lease_until", UTCDateTime),
    Column("resend", Boolean, nullable=False),  # it may have gone out before: say 重发
    Column("digest_id", Integer),  # sent inside the digest of this delivery
    Column("sent_at", UTCDateTime),
    Column("last_error", Text),
    Index("ux_deliveries_outbox_channel", "outbox_id", "channel", unique=True),
    Index("ix_deliveries_due", "status", "next_attempt_at"),
)

# A person's decision to keep one incident's alerts quiet for a while, with the reason.
silences = Table(
    "silences",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("incident_id", Integer, ForeignKey("incidents.id"), nullable=False),
    Column("owner", String(64), nullable=False),
    Column("reason", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Index("ix_silences_incident", "incident_id", "expires_at"),
)

# Dashboard users and their sessions. Passwords are Argon2id hashes; a session is known by the
# SHA-256 of its cookie, so a copy of the database opens no session.
users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(64), nullable=False, unique=True),  # what one signs in with
    Column("display_name", String(64), nullable=False),  # the actor on the timeline
    Column("role", String(16), nullable=False),  # admin, duty_officer, leader, evaluator
    Column("password_hash", Text, nullable=False),
    Column("disabled", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

sessions = Table(
    "sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
)

# Failed sign-ins, by the SHA-256 of what they are counted under (an address, or an address
# and a name): kept here so that every process of the service throttles alike.
login_failures = Table(
    "login_failures",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("key", String(64), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Index("ix_login_failures_key", "key", "at"),
)

# Scheduled reports sent, one row per report and target, so that a restart sends a missed
# report once and never twice. A row is claimed (status sending, next_attempt_at the end of the
# claim) before the send; a failed one waits until next_attempt_at to be tried again.
report_sends = Table(
    "report_sends",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(16), nullable=False),  # daily
    Column("period", String(10), nullable=False),  # the report's date, ISO (2026-03-02)
    Column("target", String(128), nullable=False),  # email:<person> or robot:<channel>
    Column("status", String(16), nullable=False),  # sending, sent, failed
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("last_error", Text),
    Column("sent_at", UTCDateTime),
    Index("ux_report_sends_target", "kind", "period", "target", unique=True),
)

# Who runs the pipeline (collect, analyse, incidents, clocks, sending, reports): the process
# holding the lease, renewed by its heartbeat; the generation grows at every takeover, and the
# pipeline's writes check it, so a leader that lost the lease writes nothing more.
leases = Table(
    "leases",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("holder", String(128), nullable=False),  # host:pid:random of the process
    Column("generation", Integer, nullable=False),
    Column("acquired_at", UTCDateTime, nullable=False),
    Column("renewed_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
)

# What the service itself did, for an operator looking back: takeovers of the lease.
service_log = Table(
    "service_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UTCDateTime, nullable=False),
    Column("kind", String(32), nullable=False),  # lead, step_down
    Column("holder", String(128), nullable=False),
    Column("data", Text, nullable=False),  # JSON
)
