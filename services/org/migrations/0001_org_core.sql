-- Org core: effective-dated departments and positions, members, assignments, idempotency.
-- Ranges are [valid_from, valid_to); 'infinity' is open-ended. Each *_versions row holds the
-- resource's effective-dated fields as protobuf JSON in `data`, plus the columns queries
-- filter on, derived from it by the service.

CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE departments (
  id          text PRIMARY KEY,
  revision    bigint NOT NULL DEFAULT 1,
  create_time timestamptz NOT NULL DEFAULT now(),
  update_time timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE department_versions (
  department_id    text NOT NULL REFERENCES departments (id),
  valid_from       date NOT NULL,
  valid_to         date NOT NULL DEFAULT 'infinity',
  parent_id        text REFERENCES departments (id),
  kind             smallint NOT NULL,
  lead_position_id text,
  data             jsonb NOT NULL,
  PRIMARY KEY (department_id, valid_from),
  CHECK (valid_from < valid_to),
  CHECK (parent_id IS DISTINCT FROM department_id),
  EXCLUDE USING gist (department_id WITH =, daterange(valid_from, valid_to) WITH &&)
);
CREATE INDEX department_versions_parent ON department_versions (parent_id, valid_from);

CREATE TABLE positions (
  id          text PRIMARY KEY,
  revision    bigint NOT NULL DEFAULT 1,
  create_time timestamptz NOT NULL DEFAULT now(),
  update_time timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE position_versions (
  position_id   text NOT NULL REFERENCES positions (id),
  valid_from    date NOT NULL,
  valid_to      date NOT NULL DEFAULT 'infinity',
  department_id text NOT NULL REFERENCES departments (id),
  reports_to_id text REFERENCES positions (id),
  headcount     integer NOT NULL CHECK (headcount >= 0),
  data          jsonb NOT NULL,
  PRIMARY KEY (position_id, valid_from),
  CHECK (valid_from < valid_to),
  EXCLUDE USING gist (position_id WITH =, daterange(valid_from, valid_to) WITH &&)
);
CREATE INDEX position_versions_department ON position_versions (department_id, valid_from);
CREATE INDEX position_versions_reports_to ON position_versions (reports_to_id) WHERE reports_to_id IS NOT NULL;

ALTER TABLE department_versions
  ADD CONSTRAINT department_versions_lead_fk FOREIGN KEY (lead_position_id) REFERENCES positions (id);

CREATE TABLE members (
  id          text PRIMARY KEY,
  data        jsonb NOT NULL,
  revision    bigint NOT NULL DEFAULT 1,
  create_time timestamptz NOT NULL DEFAULT now(),
  update_time timestamptz NOT NULL DEFAULT now()
);

-- kind: 1 primary, 2 secondary (opsteam.org.v1.AssignmentKind).
CREATE TABLE assignments (
  id          text PRIMARY KEY,
  member_id   text NOT NULL REFERENCES members (id),
  position_id text NOT NULL REFERENCES positions (id),
  kind        smallint NOT NULL CHECK (kind IN (1, 2)),
  valid_from  date NOT NULL,
  valid_to    date NOT NULL DEFAULT 'infinity',
  revision    bigint NOT NULL DEFAULT 1,
  create_time timestamptz NOT NULL DEFAULT now(),
  update_time timestamptz NOT NULL DEFAULT now(),
  CHECK (valid_from < valid_to),
  CONSTRAINT assignments_one_seat_per_post EXCLUDE USING gist (
    member_id WITH =, position_id WITH =, daterange(valid_from, valid_to) WITH &&),
  CONSTRAINT assignments_one_primary EXCLUDE USING gist (
    member_id WITH =, daterange(valid_from, valid_to) WITH &&) WHERE (kind = 1)
);
CREATE INDEX assignments_position ON assignments (position_id, valid_from);
CREATE INDEX assignments_member ON assignments (member_id, valid_from);

-- Idempotent requests: the first response to a request_id, returned again on a repeat.
CREATE TABLE request_log (
  request_id  text PRIMARY KEY,
  method      text NOT NULL,
  digest      text NOT NULL,
  response    bytea NOT NULL,
  create_time timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX request_log_create_time ON request_log (create_time);
