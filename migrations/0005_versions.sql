-- A version per editable row: every update is conditional on the version it read
-- (`... WHERE id = ? AND version = ?`), so two concurrent PATCHes cannot overwrite each other, and
-- the API offers it to clients as the ETag / If-Match of the resource.

ALTER TABLE assistants ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE tools ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE phone_numbers ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE knowledge_entries ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE users ADD COLUMN version INTEGER NOT NULL DEFAULT 1;

-- Deleting an assistant detaches its numbers (ON DELETE SET NULL) without going through an update that
-- raises the version; this raises it, so a PATCH or If-Match that read the number before sees the change.
CREATE TRIGGER phone_numbers_version_on_detach AFTER UPDATE OF assistant_id ON phone_numbers
WHEN new.version = old.version
BEGIN
    UPDATE phone_numbers SET version = version + 1 WHERE id = new.id;
END;
