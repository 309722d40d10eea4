-- A version per editable row: every update is conditional on the version it read
-- (`... WHERE id = $1 AND version = $2`), so two concurrent PATCHes cannot overwrite each other, and
-- the API offers it to clients as the ETag / If-Match of the resource (migrations/0005_versions.sql on PostgreSQL).

ALTER TABLE assistants ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE tools ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE phone_numbers ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE knowledge_entries ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE users ADD COLUMN version INTEGER NOT NULL DEFAULT 1;

-- Deleting an assistant detaches its numbers (ON DELETE SET NULL) without going through an update that
-- raises the version; this raises it, so a PATCH or If-Match that read the number before sees the change.
-- SQLite's trigger runs a second UPDATE after the row is written; here a BEFORE trigger raises the version
-- in the row being written, with the same result: it fires, as SQLite's does, on any UPDATE that sets
-- assistant_id (the foreign key's SET NULL included) and leaves the version as it was.
CREATE FUNCTION phone_numbers_version_on_detach() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.version := OLD.version + 1;
    RETURN NEW;
END
$$;
CREATE TRIGGER phone_numbers_version_on_detach BEFORE UPDATE OF assistant_id ON phone_numbers
FOR EACH ROW WHEN (NEW.version = OLD.version)
EXECUTE FUNCTION phone_numbers_version_on_detach();
