-- Usage rows aggregate the calls of one billing group that share account, key, kind and endpoint.
ALTER TABLE intel_usage ADD COLUMN calls BIGINT NOT NULL DEFAULT 1;
