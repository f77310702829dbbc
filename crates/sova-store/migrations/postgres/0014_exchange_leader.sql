-- The exchange's leader among replicas (issue 14, item 10): the replica holding the advisory lock writes its URL
-- here, so the others know where to forward signed writes.
CREATE TABLE ex_leader (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    url   TEXT NOT NULL,
    since BIGINT NOT NULL
);
