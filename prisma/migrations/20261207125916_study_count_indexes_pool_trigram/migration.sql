-- The study list's series and instance count sorts walk (poolId, count, id) like every other sort
-- (bench/index: a full sort of the pool per page before). A recount of a study now writes every
-- index of the table (no HOT update): bench/README.md measures what that costs ingest. The
-- (poolId, studyDate) and (poolId, patientId) indexes go: (poolId, studyDate, id) and
-- (poolId, patientId, studyDate DESC, id) serve every query they did, one index fewer to write.
--
-- The substring search's trigram indexes (20261207061246_study_list_indexes) are rebuilt led by
-- poolId: a term whose trigrams are common to every pool's values (research IDs all start "TRB-")
-- is narrowed to the pool inside the index instead of rechecking candidates from every pool.
-- btree_gin (PostgreSQL contrib, a trusted extension like pg_trgm) gives text an equality GIN
-- operator class (text_ops) for the leading column.
CREATE EXTENSION IF NOT EXISTS btree_gin;

-- DropIndex
DROP INDEX "Study_poolId_studyDate_idx";

-- DropIndex
DROP INDEX "Study_poolId_patientId_idx";

-- DropIndex
DROP INDEX "Study_patientId_trgm_idx";

-- DropIndex
DROP INDEX "Study_patientName_trgm_idx";

-- DropIndex
DROP INDEX "Study_studyDescription_trgm_idx";

-- DropIndex
DROP INDEX "Study_accessionNumber_trgm_idx";

-- CreateIndex
CREATE INDEX "Study_poolId_numSeries_id_idx" ON "Study"("poolId", "numSeries", "id");

-- CreateIndex
CREATE INDEX "Study_poolId_numInstances_id_idx" ON "Study"("poolId", "numInstances", "id");

-- CreateIndex
CREATE INDEX "Study_poolId_patientId_trgm_idx" ON "Study" USING GIN ("poolId" text_ops, "patientId" gin_trgm_ops);

-- CreateIndex
CREATE INDEX "Study_poolId_patientName_trgm_idx" ON "Study" USING GIN ("poolId" text_ops, "patientName" gin_trgm_ops);

-- CreateIndex
CREATE INDEX "Study_poolId_studyDescription_trgm_idx" ON "Study" USING GIN ("poolId" text_ops, "studyDescription" gin_trgm_ops);

-- CreateIndex
CREATE INDEX "Study_poolId_accessionNumber_trgm_idx" ON "Study" USING GIN ("poolId" text_ops, "accessionNumber" gin_trgm_ops);

