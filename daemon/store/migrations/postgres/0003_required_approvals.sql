-- The approvals a pending promotion waits for, as its policy said when it was asked for.
ALTER TABLE promotions ADD COLUMN required_approvals bigint DEFAULT 0;
