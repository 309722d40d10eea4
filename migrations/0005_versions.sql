-- A version per editable row: every update is conditional on the version it read
-- (`... WHERE id = ? AND version = ?`), so two concurrent PATCHes cannot overwrite each other, and
-- the API offers it to clients as the ETag / If-Match of the resource.

ALTER TABLE assistants ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE tools ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE phone_numbers ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE knowledge_entries ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE users ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
