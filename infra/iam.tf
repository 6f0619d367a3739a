resource "google_service_account" "runtime" {
  account_id   = "mlops-runtime"
  display_name = "mlops services (Cloud Run)"
}

resource "google_service_account" "eventarc" {
  account_id   = "mlops-eventarc"
  display_name = "mlops Eventarc triggers"
}

resource "google_service_account" "dataform" {
  account_id   = "mlops-dataform"
  display_name = "mlops Dataform workflow invocations"
}

resource "google_service_account" "scheduler" {
  account_id   = "mlops-scheduler"
  display_name = "mlops Cloud Scheduler"
}

resource "google_project_iam_member" "runtime" {
  for_each = toset([
    "roles/pubsub.publisher", "roles/pubsub.subscriber", "roles/pubsub.viewer", "roles/datastore.user",
    "roles/bigquery.dataEditor", "roles/bigquery.jobUser", "roles/dataform.editor", "roles/aiplatform.user",
    "roles/logging.logWriter", "roles/secretmanager.secretAccessor",
  ])
  project = var.project_id
  role    = each.value
  member  = "serviceAccount:${google_service_account.runtime.email}"
}

resource "google_storage_bucket_iam_member" "runtime_lake" {
  bucket = google_storage_bucket.lake.name
  role   = "roles/storage.objectAdmin"
  member = "serviceAccount:${google_service_account.runtime.email}"
}

# The services start Dataform invocations and Vertex pipeline jobs that run as other accounts.
resource "google_service_account_iam_member" "runtime_acts_as_dataform" {
  service_account_id = google_service_account.dataform.name
  role               = "roles/iam.serviceAccountUser"
  member             = "serviceAccount:${google_service_account.runtime.email}"
}

resource "google_service_account_iam_member" "runtime_acts_as_itself" {
  service_account_id = google_service_account.runtime.name
  role               = "roles/iam.serviceAccountUser"
  member             = "serviceAccount:${google_service_account.runtime.email}"
}

resource "google_project_iam_member" "dataform" {
  for_each = toset(["roles/bigquery.dataEditor", "roles/bigquery.jobUser"])
  project  = var.project_id
  role     = each.value
  member   = "serviceAccount:${google_service_account.dataform.email}"
}

resource "google_storage_bucket_iam_member" "dataform_lake" {
  bucket = google_storage_bucket.lake.name
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.dataform.email}"
}

resource "google_project_iam_member" "eventarc_receiver" {
  for_each = toset(["roles/eventarc.eventReceiver", "roles/run.invoker"])
  project  = var.project_id
  role     = each.value
  member   = "serviceAccount:${google_service_account.eventarc.email}"
}

resource "google_project_iam_member" "scheduler_runs_job" {
  project = var.project_id
  role    = "roles/run.developer"
  member  = "serviceAccount:${google_service_account.scheduler.email}"
}
