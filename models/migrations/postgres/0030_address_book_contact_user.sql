-- Nothing: SQLite's 0030 gives address-book rows the id of the user who
-- holds their number, kept exact by triggers that its one writer runs in
-- turn. Here writers run side by side, and an upload and a sign-up of the
-- same number would each miss the other's row, so the delta sync keeps
-- matching by hash.
SELECT 1;
