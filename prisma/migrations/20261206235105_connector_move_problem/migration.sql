-- AlterTable
ALTER TABLE "Connector" ADD COLUMN     "moveProblem" TEXT,
ADD COLUMN     "moveProblemAt" TIMESTAMP(3);

