-- The study list's series and instance count sorts walk (poolId, count, id) like every other sort
-- (bench/index: a full sort of the pool per page before). A recount of a study now writes every
-- index of the table (no HOT update): bench/README.md measures what that costs ingest. The
-- (poolId, studyDate) and (poolId, patientId) indexes go: (poolId, studyDate, id) and
-- (poolId, patientId, studyDate DESC, id) serve every query they did, one index fewer to write.

-- DropIndex
DROP INDEX "Study_poolId_studyDate_idx";

-- DropIndex
DROP INDEX "Study_poolId_patientId_idx";

-- CreateIndex
CREATE INDEX "Study_poolId_numSeries_id_idx" ON "Study"("poolId", "numSeries", "id");

-- CreateIndex
CREATE INDEX "Study_poolId_numInstances_id_idx" ON "Study"("poolId", "numInstances", "id");
