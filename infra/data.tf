# The lake, the document store and the warehouse datasets.

resource "google_storage_bucket" "lake" {
  name                        = var.lake_bucket
  location                    = var.bigquery_location
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  versioning { enabled = true }
  lifecycle_rule {
    condition {
      num_newer_versions = 3
      with_state         = "ARCHIVED"
    }
    action { type = "Delete" }
  }
}

resource "google_firestore_database" "default" {
  name        = "(default)"
  location_id = var.region
  type        = "FIRESTORE_NATIVE"
  depends_on  = [google_project_service.apis]
}

resource "google_bigquery_dataset" "layer" {
  for_each    = toset(["bronze", "staging", "warehouse"])
  dataset_id  = each.value
  location    = var.bigquery_location
  description = "Medallion layer ${each.value}, built by Dataform."
  depends_on  = [google_project_service.apis]
}
