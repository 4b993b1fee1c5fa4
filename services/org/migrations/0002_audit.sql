-- The audit trail: one row per change of a resource, written in the change's transaction.
CREATE TABLE changes (
  id             bigserial PRIMARY KEY,
  resource       text NOT NULL,
  method         text NOT NULL,
  actor          text NOT NULL,
  time           timestamptz NOT NULL DEFAULT clock_timestamp(),
  effective_date date,
  department_id  text,
  fields         jsonb NOT NULL
);
CREATE INDEX changes_resource ON changes (resource, id);
CREATE INDEX changes_department ON changes (department_id, id);
CREATE INDEX changes_time ON changes (time);
