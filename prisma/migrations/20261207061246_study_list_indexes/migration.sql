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


-- ModalitiesInStudy (QIDO-RS) and the modality filter of the study list match whole codes of the
-- backslash-separated string with string_to_array(modalities, backslash) && ARRAY[code], the
-- expression is written with the same literal in lib/dicomweb/qido.ts and lib/pools/studies.ts.
-- (Not expressible in schema.prisma, and migrations are diffed schema to schema, so it stays.)
CREATE INDEX "Study_modalities_codes_idx" ON "Study" USING GIN (string_to_array("modalities", '\'));
