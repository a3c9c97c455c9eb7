-- pg_trgm (PostgreSQL contrib, a trusted extension): trigram operator classes for the substring
-- search of the study list, ILIKE with a leading wildcard.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- CreateIndex
CREATE INDEX "Study_poolId_studyDate_id_idx" ON "Study"("poolId", "studyDate", "id");

-- CreateIndex
CREATE INDEX "Study_poolId_patientId_studyDate_id_idx" ON "Study"("poolId", "patientId", "studyDate" DESC, "id");

-- CreateIndex
CREATE INDEX "Study_poolId_studyDescription_id_idx" ON "Study"("poolId", "studyDescription", "id");

-- CreateIndex
CREATE INDEX "Study_poolId_createdAt_id_idx" ON "Study"("poolId", "createdAt", "id");

-- CreateIndex
CREATE INDEX "Study_poolId_modalities_id_idx" ON "Study"("poolId", "modalities", "id");

-- CreateIndex
CREATE INDEX "Study_patientId_trgm_idx" ON "Study" USING GIN ("patientId" gin_trgm_ops);

-- CreateIndex
CREATE INDEX "Study_patientName_trgm_idx" ON "Study" USING GIN ("patientName" gin_trgm_ops);

-- CreateIndex
CREATE INDEX "Study_studyDescription_trgm_idx" ON "Study" USING GIN ("studyDescription" gin_trgm_ops);

-- CreateIndex
CREATE INDEX "Study_accessionNumber_trgm_idx" ON "Study" USING GIN ("accessionNumber" gin_trgm_ops);

