-- The writer looks a request id up in the catalog when a creation or a promotion carries one,
-- rather than holding every request id in memory: indexed where one is set.
CREATE INDEX models_by_request_id ON models (request_id) WHERE request_id <> '';
CREATE INDEX promotions_by_request_id ON promotions (model, request_id) WHERE request_id <> '';
