# Every service is the same image with a different entrypoint, answering Eventarc over HTTP.

resource "google_cloud_run_v2_service" "service" {
  for_each            = local.consumers
  name                = each.key
  location            = var.region
  ingress             = "INGRESS_TRAFFIC_INTERNAL_ONLY"
  deletion_protection = false
  template {
    service_account                  = google_service_account.runtime.email
    timeout                          = each.key == "transformer" || each.key == "trainer" ? "3600s" : "600s"
    max_instance_request_concurrency = each.key == "dashboard" ? 80 : 1
    scaling { max_instance_count = each.key == "transformer" || each.key == "trainer" ? 1 : 10 }
    containers {
      image   = var.image
      command = ["node", "services/${each.key}/dist/main.js"]
      resources {
        limits = {
          cpu    = each.key == "trainer" || each.key == "transformer" ? "4" : "1"
          memory = each.key == "trainer" || each.key == "transformer" ? "8Gi" : "1Gi"
        }
      }
      dynamic "env" {
        for_each = local.common_env
        content {
          name  = env.key
          value = env.value
        }
      }
      env {
        name = "MLOPS_PII_HMAC_KEY"
        value_source {
          secret_key_ref {
            secret  = var.pii_hmac_key_secret
            version = "latest"
          }
        }
      }
    }
  }
  depends_on = [google_project_service.apis]
}

# The scheduler: Cloud Scheduler starts a Cloud Run job that publishes yesterday's pipeline.started.
resource "google_cloud_run_v2_job" "scheduler" {
  name                = "mlops-scheduler"
  location            = var.region
  deletion_protection = false
  template {
    template {
      service_account = google_service_account.runtime.email
      containers {
        image   = var.image
        command = ["node", "cli/dist/main.js", "schedule", "--once"]
        dynamic "env" {
          for_each = local.common_env
          content {
            name  = env.key
            value = env.value
          }
        }
        env {
          name = "MLOPS_PII_HMAC_KEY"
          value_source {
            secret_key_ref {
              secret  = var.pii_hmac_key_secret
              version = "latest"
            }
          }
        }
      }
    }
  }
}

resource "google_cloud_scheduler_job" "daily" {
  name      = "mlops-daily-run"
  region    = var.region
  schedule  = var.schedule
  time_zone = "Etc/UTC"
  http_target {
    http_method = "POST"
    uri         = "https://run.googleapis.com/v2/${google_cloud_run_v2_job.scheduler.id}:run"
    oauth_token { service_account_email = google_service_account.scheduler.email }
  }
}

resource "google_dataform_repository" "mlops" {
  provider = google-beta
  name     = "mlops"
  region   = var.region
  git_remote_settings {
    url                                 = var.dataform_git_url
    default_branch                      = var.dataform_git_branch
    authentication_token_secret_version = var.dataform_git_token_secret_version
  }
  workspace_compilation_overrides {
    default_database = var.project_id
  }
  service_account = google_service_account.dataform.email
}
