-- Matrix project groups (owner effective-dated, memberships dated) and staffing plans by
-- business phase.

CREATE TABLE project_groups (
  id          text PRIMARY KEY,
  revision    bigint NOT NULL DEFAULT 1,
  create_time timestamptz NOT NULL DEFAULT now(),
  update_time timestamptz NOT NULL DEFAULT now()
);

-- data: opsteam.org.v1.ProjectGroup JSON (display_name, description, owner).
CREATE TABLE project_group_versions (
  project_group_id text NOT NULL REFERENCES project_groups (id),
  valid_from       date NOT NULL,
  valid_to         date NOT NULL DEFAULT 'infinity',
  owner_id         text NOT NULL REFERENCES members (id),
  data             jsonb NOT NULL,
  PRIMARY KEY (project_group_id, valid_from),
  CHECK (valid_from < valid_to),
  EXCLUDE USING gist (project_group_id WITH =, daterange(valid_from, valid_to) WITH &&)
);
CREATE INDEX project_group_versions_owner ON project_group_versions (owner_id);

CREATE TABLE group_memberships (
  project_group_id text NOT NULL REFERENCES project_groups (id),
  id               text NOT NULL,
  member_id        text NOT NULL REFERENCES members (id),
  role             text NOT NULL,
  valid_from       date NOT NULL,
  valid_to         date NOT NULL DEFAULT 'infinity',
  revision         bigint NOT NULL DEFAULT 1,
  create_time      timestamptz NOT NULL DEFAULT now(),
  update_time      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (project_group_id, id),
  CHECK (valid_from < valid_to),
  CONSTRAINT group_memberships_once EXCLUDE USING gist (
    project_group_id WITH =, member_id WITH =, daterange(valid_from, valid_to) WITH &&)
);
CREATE INDEX group_memberships_member ON group_memberships (member_id, valid_from);

CREATE TABLE phases (
  id           text PRIMARY KEY,
  display_name text NOT NULL,
  ordinal      integer NOT NULL UNIQUE,
  description  text NOT NULL DEFAULT '',
  revision     bigint NOT NULL DEFAULT 1,
  create_time  timestamptz NOT NULL DEFAULT now(),
  update_time  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE staffing_plans (
  id                 text PRIMARY KEY,
  position_id        text NOT NULL REFERENCES positions (id),
  phase_id           text NOT NULL REFERENCES phases (id),
  planned_seats      integer NOT NULL CHECK (planned_seats >= 0),
  from_date          date NOT NULL,
  currency_code      text NOT NULL CHECK (currency_code ~ '^[A-Z]{3}$'),
  monthly_cost_minor bigint NOT NULL CHECK (monthly_cost_minor >= 0),
  revision           bigint NOT NULL DEFAULT 1,
  create_time        timestamptz NOT NULL DEFAULT now(),
  update_time        timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT staffing_plans_one_per_phase UNIQUE (position_id, phase_id)
);
CREATE INDEX staffing_plans_phase ON staffing_plans (phase_id);
