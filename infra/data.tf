# The lake, the document store and the warehouse datasets.

resource "google_storage_bucket" "lake" {
  name                        = var.lake_bucket
  location                    = var.bigquery_location
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  versioning { enabled = true }

  # Atomic replaces leave the previous object as a noncurrent version: keep three.
  lifecycle_rule {
    condition {
      num_newer_versions = 3
      with_state         = "ARCHIVED"
    }
    action { type = "Delete" }
  }
  # Bronze is read daily while its run date is within the 90-day lookback, then rarely.
  lifecycle_rule {
    condition {
      age            = 90
      matches_prefix = ["bronze/"]
    }
    action {
      type          = "SetStorageClass"
      storage_class = "COLDLINE"
    }
  }
  lifecycle_rule {
    condition {
      age            = 365
      matches_prefix = ["bronze/"]
    }
    action { type = "Delete" }
  }
  depends_on = [google_project_service.apis]
}

resource "google_firestore_database" "default" {
  name        = "(default)"
  location_id = var.region
  type        = "FIRESTORE_NATIVE"
  depends_on  = [google_project_service.apis]
}

# Composite indexes. Equality on one field ordered by document id (every query of the document
# store today) is served by Firestore's automatic single-field indexes; these cover the queries
# that combine an equality with a range or an order on another field.
locals {
  firestore_indexes = {
    # The run ledger's incremental progress: one run's events recorded after a cursor.
    "run_events--runId--recordedAt" = {
      collection = "run_events"
      fields     = [["runId", "ASCENDING"], ["recordedAt", "ASCENDING"]]
    }
  }
}

resource "google_firestore_index" "composite" {
  for_each   = local.firestore_indexes
  database   = google_firestore_database.default.name
  collection = each.value.collection
  dynamic "fields" {
    for_each = each.value.fields
    content {
      field_path = fields.value[0]
      order      = fields.value[1]
    }
  }
}

resource "google_bigquery_dataset" "layer" {
  for_each    = toset(["bronze", "staging", "warehouse", "assertions"])
  dataset_id  = each.value
  location    = var.bigquery_location
  description = "Medallion layer ${each.value}, built by Dataform."
  depends_on  = [google_project_service.apis]
}
