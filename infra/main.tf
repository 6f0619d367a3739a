locals {
  # Services that react to events, and the topics each one consumes (DESIGN §1).
  consumers = {
    "sales-gen"   = ["pipeline-start"]
    "click-gen"   = ["pipeline-start"]
    "startup-gen" = ["pipeline-start"]
    "lander"      = ["sales-generated"]
    "transformer" = ["bronze-landed"]
    "trainer"     = ["warehouse-ready", "stage-failed"]
    "dashboard"   = ["pipeline-start", "sales-generated", "bronze-landed", "warehouse-ready", "model-trained", "predictions-ready", "stage-failed", "stage-skipped"]
  }
  topics = ["pipeline-start", "sales-generated", "bronze-landed", "warehouse-ready", "model-trained", "predictions-ready", "stage-failed", "stage-skipped"]
  triggers = merge([
    for service, topics in local.consumers : { for topic in topics : "${service}--${topic}" => { service = service, topic = topic } }
  ]...)
  common_env = {
    MLOPS_MODE              = "gcp"
    MLOPS_TRANSPORT         = "http"
    GOOGLE_CLOUD_PROJECT    = var.project_id
    MLOPS_REGION            = var.region
    MLOPS_LAKE              = "gs://${var.lake_bucket}"
    MLOPS_BIGQUERY_LOCATION = var.bigquery_location
    MLOPS_SCALE             = tostring(var.scale)
    MLOPS_MAX_ATTEMPTS      = tostring(var.max_delivery_attempts)
    DATAFORM_REPOSITORY     = google_dataform_repository.mlops.id
    DATAFORM_GIT_COMMITISH  = var.dataform_git_branch
    MLOPS_SERVICE_ACCOUNT   = google_service_account.dataform.email
    VERTEX_PIPELINE_ROOT    = "gs://${var.lake_bucket}/mlops/pipeline-root"
    # The image the Vertex AI pipeline steps run (the trainer submits them).
    MLOPS_IMAGE = var.image
  }
}

data "google_project" "this" {}

resource "google_project_service" "apis" {
  for_each = toset([
    "run.googleapis.com", "eventarc.googleapis.com", "pubsub.googleapis.com", "firestore.googleapis.com",
    "storage.googleapis.com", "bigquery.googleapis.com", "dataform.googleapis.com", "aiplatform.googleapis.com",
    "cloudscheduler.googleapis.com", "secretmanager.googleapis.com", "artifactregistry.googleapis.com",
  ])
  service            = each.value
  disable_on_destroy = false
}
