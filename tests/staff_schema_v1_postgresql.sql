-- The staff app's tables on PostgreSQL as the first release created them: the DDL of
-- fagchat/staff/schema.py at commit 2bf4af9 compiled for PostgreSQL (SQLAlchemy 1.4).
-- tests/staff_schema_v1.sql is the same schema on SQLite; tests/test_staff_migrations.py uses both.
CREATE TABLE events (
	id SERIAL NOT NULL,
	sender_id VARCHAR(255) NOT NULL,
	type_name VARCHAR(255) NOT NULL,
	timestamp FLOAT,
	intent_name VARCHAR(255),
	action_name VARCHAR(255),
	data TEXT,
	PRIMARY KEY (id)
);
CREATE INDEX ix_events_sender_id ON events (sender_id);
CREATE TABLE staff_audit (
	id SERIAL NOT NULL,
	at FLOAT NOT NULL,
	username VARCHAR(64) NOT NULL,
	action VARCHAR(64) NOT NULL,
	target VARCHAR(255) NOT NULL,
	detail VARCHAR(255) NOT NULL,
	ip VARCHAR(64) NOT NULL,
	PRIMARY KEY (id)
);
CREATE INDEX ix_staff_audit_at ON staff_audit (at);
CREATE TABLE staff_conversations (
	sender_id VARCHAR(255) NOT NULL,
	started_at FLOAT NOT NULL,
	last_at FLOAT NOT NULL,
	start_day INTEGER NOT NULL,
	n_user INTEGER NOT NULL,
	n_bot INTEGER NOT NULL,
	fallback INTEGER NOT NULL,
	thumbs_up INTEGER NOT NULL,
	thumbs_down INTEGER NOT NULL,
	handover INTEGER NOT NULL,
	acute INTEGER NOT NULL,
	min_conf FLOAT,
	role VARCHAR(32),
	PRIMARY KEY (sender_id)
);
CREATE INDEX ix_staff_conversations_day_users ON staff_conversations (start_day, n_user);
CREATE INDEX ix_staff_conversations_last_at ON staff_conversations (last_at);
CREATE INDEX ix_staff_conversations_role_last ON staff_conversations (role, last_at);
CREATE TABLE staff_login_failures (
	id SERIAL NOT NULL,
	username VARCHAR(64) NOT NULL,
	ip VARCHAR(64) NOT NULL,
	at FLOAT NOT NULL,
	PRIMARY KEY (id)
);
CREATE INDEX ix_staff_login_failures_at ON staff_login_failures (at);
CREATE INDEX ix_staff_login_failures_ip ON staff_login_failures (ip);
CREATE INDEX ix_staff_login_failures_username ON staff_login_failures (username);
CREATE TABLE staff_marks (
	event_id INTEGER NOT NULL,
	sender_id VARCHAR(255) NOT NULL,
	day INTEGER NOT NULL,
	kind VARCHAR(16) NOT NULL,
	article VARCHAR(64),
	PRIMARY KEY (event_id)
);
CREATE INDEX ix_staff_marks_kind_article ON staff_marks (kind, article, sender_id);
CREATE INDEX ix_staff_marks_kind_day ON staff_marks (kind, day, article);
CREATE INDEX ix_staff_marks_sender_kind ON staff_marks (sender_id, kind);
CREATE TABLE staff_messages (
	event_id INTEGER NOT NULL,
	sender_id VARCHAR(255) NOT NULL,
	ts FLOAT NOT NULL,
	day INTEGER NOT NULL,
	intent VARCHAR(255),
	confidence FLOAT,
	fallback INTEGER NOT NULL,
	thumbs_down INTEGER NOT NULL,
	article VARCHAR(64),
	command INTEGER NOT NULL,
	PRIMARY KEY (event_id)
);
CREATE INDEX ix_staff_messages_day_fallback ON staff_messages (day, fallback);
CREATE INDEX ix_staff_messages_sender_id ON staff_messages (sender_id);
CREATE INDEX ix_staff_messages_ts ON staff_messages (ts);
CREATE TABLE staff_reviews (
	event_id INTEGER NOT NULL,
	sender_id VARCHAR(255) NOT NULL,
	decision VARCHAR(255) NOT NULL,
	example TEXT NOT NULL,
	note TEXT NOT NULL,
	reviewer VARCHAR(64) NOT NULL,
	decided_at FLOAT NOT NULL,
	PRIMARY KEY (event_id)
);
CREATE INDEX ix_staff_reviews_decided_at ON staff_reviews (decided_at);
CREATE INDEX ix_staff_reviews_sender_id ON staff_reviews (sender_id);
CREATE TABLE staff_sessions (
	token_hash VARCHAR(64) NOT NULL,
	username VARCHAR(64) NOT NULL,
	csrf VARCHAR(64) NOT NULL,
	expires_at FLOAT NOT NULL,
	PRIMARY KEY (token_hash)
);
CREATE INDEX ix_staff_sessions_expires_at ON staff_sessions (expires_at);
CREATE INDEX ix_staff_sessions_username ON staff_sessions (username);
CREATE TABLE staff_state (
	key VARCHAR(64) NOT NULL,
	value VARCHAR(255) NOT NULL,
	PRIMARY KEY (key)
);
CREATE TABLE staff_users (
	id SERIAL NOT NULL,
	username VARCHAR(64) NOT NULL,
	password_hash VARCHAR(255) NOT NULL,
	created_at FLOAT NOT NULL,
	PRIMARY KEY (id),
	UNIQUE (username)
);
