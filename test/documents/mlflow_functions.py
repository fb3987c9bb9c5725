import subprocess
import json
import mlflow

def log_model_diff(model1_path, model2_path):
    result = subprocess.run([
        'diffai', model1_path, model2_path, '--stats', '--output', 'json'
    ], capture_output=True, text=True)
    
    diff_data = json.loads(result.stdout)
    
    with mlflow.start_run():
        mlflow.log_dict(diff_data, "model_comparison.json")
        mlflow.log_metric("total_changes", len(diff_data))
