-- rampart:phase expand
-- The cleanup job finds expired personal access tokens by expiry: an index
-- turns its scan of the whole table into a range seek.

CREATE INDEX personal_access_tokens_expires ON personal_access_tokens (expires_at);
