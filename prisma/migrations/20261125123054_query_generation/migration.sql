-- AlterTable
ALTER TABLE "Query" ADD COLUMN     "generation" INTEGER NOT NULL DEFAULT 0;

