-- AlterTable
ALTER TABLE "QueryItem" ADD COLUMN     "mergedRowNumbers" INTEGER[] DEFAULT ARRAY[]::INTEGER[];

-- CreateTable
CREATE TABLE "RetrievalInstance" (
    "id" TEXT NOT NULL,
    "retrievalId" TEXT NOT NULL,
    "sourceSeriesUid" TEXT NOT NULL,
    "sourceSopUid" TEXT NOT NULL,
    "outcome" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "RetrievalInstance_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "QuarantinedInstance" (
    "id" TEXT NOT NULL,
    "poolId" TEXT NOT NULL,
    "retrievalId" TEXT,
    "reason" TEXT NOT NULL,
    "studyInstanceUid" TEXT NOT NULL,
    "seriesInstanceUid" TEXT NOT NULL,
    "sopInstanceUid" TEXT NOT NULL,
    "sopClassUid" TEXT NOT NULL,
    "modality" TEXT NOT NULL DEFAULT '',
    "path" TEXT NOT NULL,
    "size" INTEGER NOT NULL,
    "ruleVersion" INTEGER NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "decidedAt" TIMESTAMP(3),
    "decidedById" TEXT,
    "decision" TEXT,

    CONSTRAINT "QuarantinedInstance_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "LookupEntry" (
    "id" TEXT NOT NULL,
    "poolId" TEXT NOT NULL,
    "table" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "value" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "LookupEntry_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "RetrievalInstance_retrievalId_sourceSopUid_key" ON "RetrievalInstance"("retrievalId", "sourceSopUid");

-- CreateIndex
CREATE INDEX "QuarantinedInstance_poolId_decision_idx" ON "QuarantinedInstance"("poolId", "decision");

-- CreateIndex
CREATE UNIQUE INDEX "QuarantinedInstance_poolId_sopInstanceUid_key" ON "QuarantinedInstance"("poolId", "sopInstanceUid");

-- CreateIndex
CREATE UNIQUE INDEX "LookupEntry_poolId_table_key_key" ON "LookupEntry"("poolId", "table", "key");

-- AddForeignKey
ALTER TABLE "RetrievalInstance" ADD CONSTRAINT "RetrievalInstance_retrievalId_fkey" FOREIGN KEY ("retrievalId") REFERENCES "Retrieval"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "QuarantinedInstance" ADD CONSTRAINT "QuarantinedInstance_poolId_fkey" FOREIGN KEY ("poolId") REFERENCES "Pool"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "QuarantinedInstance" ADD CONSTRAINT "QuarantinedInstance_retrievalId_fkey" FOREIGN KEY ("retrievalId") REFERENCES "Retrieval"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "LookupEntry" ADD CONSTRAINT "LookupEntry_poolId_fkey" FOREIGN KEY ("poolId") REFERENCES "Pool"("id") ON DELETE CASCADE ON UPDATE CASCADE;

