-- AlterTable
ALTER TABLE "Pool" ADD COLUMN     "closedAt" TIMESTAMP(3),
ADD COLUMN     "purgedAt" TIMESTAMP(3);

-- CreateTable
CREATE TABLE "StudyProvenance" (
    "id" TEXT NOT NULL,
    "studyId" TEXT NOT NULL,
    "poolId" TEXT NOT NULL,
    "eventKey" TEXT NOT NULL,
    "sourceKind" TEXT NOT NULL,
    "method" TEXT NOT NULL,
    "connectorId" TEXT,
    "connectorName" TEXT,
    "queryId" TEXT,
    "cohortSourceId" TEXT,
    "cohortSourceName" TEXT,
    "retrievalId" TEXT,
    "deviceId" TEXT,
    "deviceName" TEXT,
    "callingAeTitle" TEXT,
    "userId" TEXT,
    "requestedAt" TIMESTAMP(3),
    "startedAt" TIMESTAMP(3),
    "finishedAt" TIMESTAMP(3),
    "firstStoredAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastStoredAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "ruleVersions" INTEGER[] DEFAULT ARRAY[]::INTEGER[],
    "identitySource" TEXT NOT NULL,

    CONSTRAINT "StudyProvenance_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "PoolPurge" (
    "id" TEXT NOT NULL,
    "poolId" TEXT NOT NULL,
    "poolName" TEXT NOT NULL,
    "requestedById" TEXT,
    "step" TEXT NOT NULL DEFAULT 'inventory',
    "leaseUntil" TIMESTAMP(3),
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "lastError" TEXT,
    "counts" JSONB,
    "receiptId" TEXT,
    "startedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finishedAt" TIMESTAMP(3),

    CONSTRAINT "PoolPurge_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "PoolPurgeFile" (
    "purgeId" TEXT NOT NULL,
    "path" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "sopInstanceUid" TEXT,
    "size" BIGINT,
    "sha256" TEXT,
    "missing" BOOLEAN NOT NULL DEFAULT false,
    "deletedAt" TIMESTAMP(3),

    CONSTRAINT "PoolPurgeFile_pkey" PRIMARY KEY ("purgeId","path")
);

-- CreateIndex
CREATE INDEX "StudyProvenance_poolId_idx" ON "StudyProvenance"("poolId");

-- CreateIndex
CREATE INDEX "StudyProvenance_retrievalId_idx" ON "StudyProvenance"("retrievalId");

-- CreateIndex
CREATE UNIQUE INDEX "StudyProvenance_studyId_eventKey_key" ON "StudyProvenance"("studyId", "eventKey");

-- CreateIndex
CREATE UNIQUE INDEX "PoolPurge_poolId_key" ON "PoolPurge"("poolId");

-- CreateIndex
CREATE INDEX "PoolPurgeFile_purgeId_deletedAt_idx" ON "PoolPurgeFile"("purgeId", "deletedAt");

-- AddForeignKey
ALTER TABLE "StudyProvenance" ADD CONSTRAINT "StudyProvenance_studyId_fkey" FOREIGN KEY ("studyId") REFERENCES "Study"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "PoolPurge" ADD CONSTRAINT "PoolPurge_poolId_fkey" FOREIGN KEY ("poolId") REFERENCES "Pool"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "PoolPurgeFile" ADD CONSTRAINT "PoolPurgeFile_purgeId_fkey" FOREIGN KEY ("purgeId") REFERENCES "PoolPurge"("id") ON DELETE CASCADE ON UPDATE CASCADE;


