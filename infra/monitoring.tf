# Alerts: a stage failed or a message was dead-lettered, an engine job failed, and a run date not
# built by its deadline.

resource "google_monitoring_notification_channel" "email" {
  for_each     = toset(var.alert_emails)
  display_name = "mlops alerts: ${each.value}"
  type         = "email"
  labels       = { email_address = each.value }
  depends_on   = [google_project_service.apis]
}

# Dataform invocations and Vertex AI pipeline jobs that end other than in success, counted from the
# entries Google writes for them (so a failure is seen even if no handler ever reacts).
resource "google_logging_metric" "engine_job_failed" {
  name        = "mlops/engine_job_failed"
  description = "Dataform workflow invocations and Vertex AI pipeline jobs of the platform that failed or were cancelled."
  filter = join(" OR ", [
    "(${local.completion_filters["dataform-completions"]} AND jsonPayload.terminalState!=\"SUCCEEDED\")",
    "(logName=\"projects/${var.project_id}/logs/aiplatform.googleapis.com%2Fpipeline_job_events\" AND resource.type=\"aiplatform.googleapis.com/PipelineJob\" AND jsonPayload.state=(\"PIPELINE_STATE_FAILED\" OR \"PIPELINE_STATE_CANCELLED\"))",
  ])
  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
  }
}

locals {
  # Messages published on a topic in five minutes.
  topic_publishes = "metric.type=\"pubsub.googleapis.com/topic/send_message_operation_count\" AND resource.type=\"pubsub_topic\""
}

resource "google_monitoring_alert_policy" "stage_failed" {
  display_name          = "mlops: a stage failed or a message was dead-lettered"
  combiner              = "OR"
  notification_channels = [for channel in google_monitoring_notification_channel.email : channel.id]
  documentation {
    content   = "A stage published mlops.stage.failed.v1, a message reached the dead-letter topic, or a Dataform invocation or Vertex AI pipeline job failed. `mlops status` and `mlops dlq list` show which run and why; `mlops dlq redrive` replays after a fix."
    mime_type = "text/markdown"
  }
  conditions {
    display_name = "stage.failed published"
    condition_threshold {
      filter          = "${local.topic_publishes} AND resource.labels.topic_id=\"stage-failed\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period   = "300s"
        per_series_aligner = "ALIGN_SUM"
      }
    }
  }
  conditions {
    display_name = "message dead-lettered"
    condition_threshold {
      filter          = "${local.topic_publishes} AND resource.labels.topic_id=\"${google_pubsub_topic.dead_letter.name}\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period   = "300s"
        per_series_aligner = "ALIGN_SUM"
      }
    }
  }
  conditions {
    display_name = "Dataform or Vertex AI job failed"
    condition_threshold {
      filter          = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.engine_job_failed.name}\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period   = "300s"
        per_series_aligner = "ALIGN_SUM"
      }
    }
  }
}

# A metric-absence condition reaches at most 23.5 hours, less than a day between daily runs, so the
# deadline is a PromQL query over a longer window.
resource "google_monitoring_alert_policy" "warehouse_not_ready" {
  display_name          = "mlops: no run date built for ${var.warehouse_ready_deadline_hours} hours"
  combiner              = "OR"
  notification_channels = [for channel in google_monitoring_notification_channel.email : channel.id]
  documentation {
    content   = "No mlops.warehouse.ready.v1 was published for ${var.warehouse_ready_deadline_hours} hours: the last run date was not built. `mlops status` shows the stage it stopped at."
    mime_type = "text/markdown"
  }
  conditions {
    display_name = "warehouse.ready absent"
    condition_prometheus_query_language {
      query               = "absent_over_time(pubsub_googleapis_com:topic_send_message_operation_count{monitored_resource=\"pubsub_topic\",topic_id=\"${google_pubsub_topic.event["warehouse-ready"].name}\"}[${var.warehouse_ready_deadline_hours}h])"
      duration            = "0s"
      evaluation_interval = "300s"
    }
  }
}
