-- CreateTable
CREATE TABLE "DeidInstanceSummary" (
    "poolId" TEXT NOT NULL,
    "sopInstanceUid" TEXT NOT NULL,
    "ruleVersion" INTEGER NOT NULL,
    "outcome" TEXT NOT NULL,
    "removed" INTEGER NOT NULL DEFAULT 0,
    "emptied" INTEGER NOT NULL DEFAULT 0,
    "replaced" INTEGER NOT NULL DEFAULT 0,
    "kept" INTEGER NOT NULL DEFAULT 0,
    "shifted" INTEGER NOT NULL DEFAULT 0,
    "uidRemapped" INTEGER NOT NULL DEFAULT 0,
    "cleaned" INTEGER NOT NULL DEFAULT 0,
    "added" INTEGER NOT NULL DEFAULT 0,
    "methodCodes" TEXT[],
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "DeidInstanceSummary_pkey" PRIMARY KEY ("poolId","sopInstanceUid")
);

-- CreateIndex
CREATE INDEX "DeidInstanceSummary_poolId_ruleVersion_idx" ON "DeidInstanceSummary"("poolId", "ruleVersion");

-- AddForeignKey
ALTER TABLE "DeidInstanceSummary" ADD CONSTRAINT "DeidInstanceSummary_poolId_fkey" FOREIGN KEY ("poolId") REFERENCES "Pool"("id") ON DELETE CASCADE ON UPDATE CASCADE;

