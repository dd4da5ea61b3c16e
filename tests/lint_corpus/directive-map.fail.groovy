pipeline {
    agent any
    triggers {
        [cron: 'H * * * *']  // <-- directive-map
    }
    stages {
        stage('build') {
            steps {
                echo 'hello'
            }
        }
    }
}
