-- AlterTable
ALTER TABLE "QueryItem" ADD COLUMN     "claimedBy" TEXT;

-- CreateIndex
CREATE INDEX "QueryItem_queryId_status_rowNumber_idx" ON "QueryItem"("queryId", "status", "rowNumber");

