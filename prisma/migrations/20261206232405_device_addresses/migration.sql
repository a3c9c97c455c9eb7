-- AlterTable
ALTER TABLE "Device" ADD COLUMN     "addresses" TEXT[] DEFAULT ARRAY[]::TEXT[];

